/*
 * price.c - pricing rules.
 */
#include <stdio.h>
#include <string.h>

#include "money.h"
#include "price.h"

static uint32_t
max32(uint32_t a, uint32_t b)
{
	return a > b ? a : b;
}

static uint32_t
mul32(uint32_t a, uint32_t b)
{
	uint64_t p = (uint64_t)a * b;

	return p > UINT32_MAX ? UINT32_MAX : (uint32_t)p;
}

/*
 * The original plugins multiplied --ntasks by --cpus-per-task and got 0
 * when either was unset, making every such job free.  Here every fact
 * Slurm holds is a lower bound and the largest wins: tasks x CPUs per task
 * (tasks from --ntasks or --ntasks-per-node x nodes), --mincpus style
 * (tasks from --ntasks, else --ntasks-per-node x nodes, else one per node
 * as Slurm does), minimum CPUs, and one CPU (or --mincpus) on each node.
 */
uint32_t
price_infer_cpus(const struct job_shape *js)
{
	uint32_t tasks = js->num_tasks, cpt, cpus;

	if (tasks == 0 && js->ntasks_per_node != 0)
		tasks = mul32(js->ntasks_per_node, max32(js->min_nodes, 1));
	if (tasks == 0)		/* Slurm's default: one task per node */
		tasks = max32(js->min_nodes, 1);
	cpt = js->cpus_per_task ? js->cpus_per_task : 1;
	cpus = mul32(tasks, cpt);
	cpus = max32(cpus, js->min_cpus);
	cpus = max32(cpus, mul32(js->min_nodes, max32(js->pn_min_cpus, 1)));
	return max32(cpus, 1);
}

void
price_estimate(const struct bank_conf *cf, const char *partitions,
    uint32_t cpus, uint32_t time_limit, struct estimate *est)
{
	char name[64];
	const char *p = partitions ? partitions : "", *comma;
	int64_t price;
	size_t len;
	int first = 1;

	memset(est, 0, sizeof(*est));
	est->cpus = cpus;
	est->minutes = time_limit ? time_limit : cf->default_time_limit;
	do {
		comma = strchr(p, ',');
		len = comma ? (size_t)(comma - p) : strlen(p);
		snprintf(name, sizeof(name), "%.*s", (int)len, p);
		conf_price(cf, name[0] ? name : NULL, &price);
		if (first || price > est->price) {
			est->price = price;
			snprintf(est->partition, sizeof(est->partition), "%s",
			    name);
			first = 0;
		}
		p = comma ? comma + 1 : NULL;
	} while (p != NULL);
	est->cents = money_cost(est->price, cpus, (uint64_t)est->minutes * 60);
}

int64_t
price_actual(const struct bank_conf *cf, const char *partition,
    uint32_t cpus, uint64_t elapsed_s)
{
	int64_t price;

	conf_price(cf, partition, &price);
	return money_cost(price, cpus, elapsed_s);
}
