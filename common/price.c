/*
 * price.c - pricing rules.
 */
#include <stdio.h>
#include <string.h>

#include "lim.h"
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

/* ---- pricing beyond CPUs --------------------------------------------- */

typedef unsigned __int128 u128;
#define U128_MAX	(~(u128)0)

static u128
mulsat(u128 a, u128 b)
{
	if (a != 0 && b > U128_MAX / a)
		return U128_MAX;
	return a * b;
}

static u128
addsat(u128 a, u128 b)
{
	return a > U128_MAX - b ? U128_MAX : a + b;
}

static int64_t
gpu_price(const struct conf_price *pr, const char *type)
{
	size_t i;

	if (pr == NULL)
		return 0;
	for (i = 0; type[0] != '\0' && i < pr->ngpu_types; i++)
		if (strcmp(pr->gpu_types[i].type, type) == 0)
			return pr->gpu_types[i].micro;
	return pr->gpu;
}

/*
 * Every rate is in micro-SU per hour times K = 1024 x the node's MiB, so
 * that a GB-hour of memory (mem_mb / 1024) and a memory share in CPUs
 * (mem_mb x node CPUs / node MiB) stay whole numbers: one exact sum, one
 * division, one rounding.
 */
int64_t
price_use_cost(const struct bank_conf *cf, const char *part,
    const struct price_use *u, uint64_t seconds, uint32_t *billed_cpus)
{
	const struct conf_price *pr = conf_price_entry(cf, part);
	int64_t cpu = pr ? pr->micro : cf->default_price;
	int64_t mem_gb = pr ? pr->mem_gb : 0;
	int billing = pr && pr->billing_max >= 0 ? pr->billing_max :
	    (int)cf->billing;
	uint64_t nm = u->node_mem_mb ? u->node_mem_mb : 1;
	int64_t qos = u->has_usage_factor ? u->usage_factor :
	    conf_qos_multiplier(cf, u->qos);
	u128 k = (u128)1024 * nm, rate, mem, num, den;
	size_t i;

	if (billed_cpus != NULL)
		*billed_cpus = u->cpus;
	rate = mulsat(mulsat((u128)(uint64_t)cpu, u->cpus), k);
	if (billing == BILLING_MAX) {
		if (mem_gb > 0)
			mem = mulsat(mulsat((u128)(uint64_t)mem_gb, u->mem_mb),
			    nm);
		else if (u->node_cpus != 0 && u->node_mem_mb != 0)
			mem = mulsat(mulsat(mulsat((u128)(uint64_t)cpu,
			    u->mem_mb), u->node_cpus), 1024);
		else
			mem = 0;
		if (mem > rate) {
			rate = mem;
			if (billed_cpus != NULL && mem_gb == 0) {
				/* Informational: the share, rounded up. */
				u128 sh = ((u128)u->mem_mb * u->node_cpus +
				    u->node_mem_mb - 1) / u->node_mem_mb;

				*billed_cpus = sh > UINT32_MAX ? UINT32_MAX :
				    (uint32_t)sh;
			}
		}
	} else {
		rate = addsat(rate, mulsat(mulsat((u128)(uint64_t)mem_gb,
		    u->mem_mb), nm));
	}
	for (i = 0; i < u->ngpu; i++)
		rate = addsat(rate, mulsat(mulsat((u128)(uint64_t)gpu_price(pr,
		    u->gpu[i].type), u->gpu[i].n), k));
	if (rate == 0 || seconds == 0 || qos <= 0)	/* UsageFactor=0: free */
		return 0;
	num = mulsat(mulsat(rate, seconds), (u128)(uint64_t)qos);
	if (num == U128_MAX)
		return INT64_MAX;
	/* K x 3600 s/h x 10^4 micro-SU/cent x 10^6 (the multiplier's scale) */
	den = k * 3600 * 10000 * 1000000;
	if (num > U128_MAX - den / 2)
		return INT64_MAX;
	num = (num + den / 2) / den;
	return num > INT64_MAX ? INT64_MAX : (int64_t)num;
}

static uint64_t
add64(uint64_t a, uint64_t b)
{
	return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

static uint64_t
mul64(uint64_t a, uint64_t b)
{
	u128 p = (u128)a * b;

	return p > UINT64_MAX ? UINT64_MAX : (uint64_t)p;
}

/*
 * The slot for GPUs of `type`.  A new type always leaves one slot free
 * for "any GPU", so a type that finds no room is counted there (at the
 * GPU price) rather than dropped or written over another's count.
 */
static struct gpu_count *
gpu_slot(struct price_use *u, const char *type)
{
	struct gpu_count *any = NULL, *g;
	size_t i, need;

	for (i = 0; i < u->ngpu; i++) {
		if (strcmp(u->gpu[i].type, type) == 0)
			return &u->gpu[i];
		if (u->gpu[i].type[0] == '\0')
			any = &u->gpu[i];
	}
	need = type[0] != '\0' && any == NULL ? 2 : 1;
	if (u->ngpu + need > PRICE_MAX_GPU_TYPES) {
		if (any != NULL)
			return any;
		type = "";
	}
	g = &u->gpu[u->ngpu++];
	snprintf(g->type, sizeof(g->type), "%s", type);
	g->n = 0;
	return g;
}

static void
gpu_add(struct price_use *u, const char *type, uint64_t n)
{
	struct gpu_count *g;

	if (n == 0)
		return;
	g = gpu_slot(u, type);
	g->n = add64(g->n, n);
}

/* Digits at s, saturating at UINT64_MAX; *end after the last digit. */
static uint64_t
count_of(const char *s, const char **end)
{
	uint64_t v = 0;

	while (*s >= '0' && *s <= '9') {
		v = v > (UINT64_MAX - 9) / 10 ? UINT64_MAX : v * 10 + (*s - '0');
		s++;
	}
	*end = s;
	return v;
}

static int
all_digits(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return len > 0;
}

/* [s, e) into type, cut to fit (types are matched on what fits). */
static void
type_of(char type[LIM_GPU_TYPE_LEN + 1], const char *s, const char *e)
{
	size_t len = (size_t)(e - s);

	if (len > LIM_GPU_TYPE_LEN)
		len = LIM_GPU_TYPE_LEN;
	memcpy(type, s, len);
	type[len] = '\0';
}

/*
 * One item [p, e) of a TRES list, read in place (a copy into a buffer
 * would let a long item lose its count): "gpu", "gpu:2", "gpu:a100",
 * "gpu:a100:2" (a request) or "gpu=2", "gpu:a100=2" (an allocation),
 * after an optional "gres:" or "gres/".  -1 if it is not GPUs.
 */
static int
gpu_item(const char *p, const char *e, char type[LIM_GPU_TYPE_LEN + 1],
    uint64_t *n, int *alloc)
{
	const char *eq, *a, *c, *lim, *end;
	size_t len = (size_t)(e - p);

	if (len >= 5 && (strncmp(p, "gres:", 5) == 0 ||
	    strncmp(p, "gres/", 5) == 0)) {
		p += 5;
		len -= 5;
	}
	if (len < 3 || strncmp(p, "gpu", 3) != 0 ||
	    (len > 3 && p[3] != ':' && p[3] != '='))
		return -1;
	p += 3;
	len -= 3;
	type[0] = '\0';
	*n = 1;
	if ((eq = memchr(p, '=', len)) != NULL) {
		*alloc = 1;
		if (*p == ':')
			type_of(type, p + 1, eq);
		*n = count_of(eq + 1, &end);
		return 0;
	}
	if (len == 0)
		return 0;
	a = p + 1;			/* after "gpu:" */
	len--;
	if ((lim = memchr(a, '(', len)) != NULL)
		len = (size_t)(lim - a);
	if ((c = memchr(a, ':', len)) != NULL) {
		type_of(type, a, c);
		*n = count_of(c + 1, &end);
	} else if (all_digits(a, len))
		*n = count_of(a, &end);
	else
		type_of(type, a, a + len);
	return 0;
}

/*
 * Every count saturates at UINT64_MAX (and so does its price): a count
 * no cluster has is priced beyond any balance the API can hold (unless
 * GPUs are free there), never wrapped to a small one.  Slurm refuses
 * such a job later anyway.
 */
void
price_parse_gpus(const char *tres, uint64_t mult, struct price_use *u)
{
	struct gpu_count typed[PRICE_MAX_GPU_TYPES];
	size_t ntyped = 0, i;
	uint64_t untyped = 0, typed_sum = 0, spill = 0, n;
	int alloc = 0;
	const char *p = tres, *e;
	char type[LIM_GPU_TYPE_LEN + 1];

	if (tres == NULL || mult == 0)
		return;
	for (; *p != '\0'; p = *e ? e + 1 : e) {
		e = p + strcspn(p, ",;");
		if (gpu_item(p, e, type, &n, &alloc) != 0 || n == 0)
			continue;
		if (type[0] == '\0') {
			untyped = add64(untyped, n);
			continue;
		}
		for (i = 0; i < ntyped; i++)
			if (strcmp(typed[i].type, type) == 0)
				break;
		if (i == ntyped && ntyped < PRICE_MAX_GPU_TYPES) {
			memcpy(typed[ntyped].type, type, sizeof(type));
			typed[ntyped++].n = 0;
		}
		if (i == ntyped) {	/* no room: counted as any GPU */
			spill = add64(spill, n);
			continue;
		}
		typed[i].n = add64(typed[i].n, n);
		typed_sum = add64(typed_sum, n);
	}
	/*
	 * An allocation lists the total and then each type within it: the
	 * untyped rest is the total less the types kept (which covers the
	 * spilled ones), and never less than those.
	 */
	if (alloc) {
		untyped = untyped == UINT64_MAX ? untyped :
		    untyped > typed_sum ? untyped - typed_sum : 0;
		untyped = untyped > spill ? untyped : spill;
	} else
		untyped = add64(untyped, spill);
	for (i = 0; i < ntyped; i++)
		gpu_add(u, typed[i].type, mul64(typed[i].n, mult));
	gpu_add(u, "", mul64(untyped, mult));
}

uint64_t
price_parse_mem(const char *tres)
{
	const char *p, *end;
	uint64_t whole, frac = 0, scale = 1, unit = 1;
	u128 v;

	if (tres == NULL)
		return 0;
	for (p = tres; (p = strstr(p, "mem=")) != NULL; p += 4)
		if (p == tres || p[-1] == ',')
			break;
	if (p == NULL)
		return 0;
	whole = count_of(p + 4, &end);
	if (*end == '.') {
		const char *f = end + 1;

		while (*f >= '0' && *f <= '9' && scale < 1000000) {
			frac = frac * 10 + (*f - '0');
			scale *= 10;
			f++;
		}
		while (*f >= '0' && *f <= '9')
			f++;
		end = f;
	}
	switch (*end) {
	case 'G': unit = 1024; break;
	case 'T': unit = 1024 * 1024; break;
	case 'P': unit = (uint64_t)1024 * 1024 * 1024; break;
	default: break;			/* M or none: MiB */
	}
	if (*end == 'K')		/* rounded up, without wrapping */
		return whole / 1024 + (whole % 1024 != 0);
	v = ((u128)whole * scale + frac) * unit;
	v = (v + scale - 1) / scale;
	return v > UINT64_MAX ? UINT64_MAX : (uint64_t)v;
}

/*
 * Slurm keeps an array's tasks in a bitmap of MaxArraySize bits, so an
 * index at or beyond LIM_ARRAY_TASKS (the largest MaxArraySize) is one no
 * Slurm accepts: PRICE_ARRAY_HUGE.  A repeated index is one task, so the
 * count (an upper bound: ranges are summed) never exceeds the largest
 * index + 1, and no sum can overflow.
 */
uint32_t
price_array_tasks(const char *inx)
{
	const char *p = inx, *end;
	uint64_t a, b, step, total = 0, top = 0;

	if (inx == NULL)
		return 0;
	while (*p != '\0' && *p != '%') {
		a = count_of(p, &end);
		if (end == p)
			return 0;	/* not an array expression */
		b = a;
		step = 1;
		p = end;
		if (*p == '-') {
			b = count_of(p + 1, &end);
			if (end == p + 1 || b < a)
				return 0;
			p = end;
			if (*p == ':') {
				step = count_of(p + 1, &end);
				if (end == p + 1 || step == 0)
					return 0;
				p = end;
			}
		}
		if (*p == ',')
			p++;
		else if (*p != '\0' && *p != '%')
			return 0;
		if (b >= LIM_ARRAY_TASKS)
			return PRICE_ARRAY_HUGE;
		top = b + 1 > top ? b + 1 : top;
		total += (b - a) / step + 1;
		total = total < top ? total : top;
	}
	return (uint32_t)total;
}
