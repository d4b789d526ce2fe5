/*
 * ctl_usage.c - bankctl's usage, for main and for every command that
 * finds its arguments wrong: printed, and exit 2.
 */
#include <stdio.h>
#include <stdlib.h>

#include "ctl.h"

void
ctl_usage(void)
{
	fprintf(stderr,
	    "usage: bankctl [-f bank.yaml] [-S socket|tcp:ADDR:PORT] "
	    "[--json] status\n"
	    "       bankctl [...] estimate -p PARTITIONS [-n TASKS] "
	    "[-c CPUS_PER_TASK]\n"
	    "                [-N NODES] [--mincpus N] [-t TIME] "
	    "[--gpus [TYPE:]N]\n"
	    "                [--mem SIZE | --mem-per-cpu SIZE] [--qos QOS] "
	    "[--exclusive]\n"
	    "                [--array SPEC] [--node CPUS[:MEM]] "
	    "[-A ACCOUNT [-u USER] --check]\n"
	    "                [JOBSCRIPT]\n"
	    "       bankctl [...] prices\n"
	    "       bankctl [...] queue [--dead]\n"
	    "       bankctl [...] show SEQ\n"
	    "       bankctl [...] retry SEQ | --all\n"
	    "       bankctl [...] drop SEQ\n"
	    "       bankctl [...] pause | resume\n"
	    "       bankctl [...] holds [-A ACCOUNT] [-u USER]\n"
	    "       bankctl [...] check USER ACCOUNT COST\n"
	    "       bankctl [...] balance -A ACCOUNT\n"
	    "       bankctl [...] backfill --since DATE [--until DATE] "
	    "[--dry-run]\n"
	    "                [--sacct-file FILE|-] [--qos-file FILE]\n"
	    "       bankctl migrate-config bank-config.toml [-o bank.yaml]\n"
	    "                [--token-file PATH]\n"
	    "TIME: M, M:S, H:M:S, D-H, D-H:M or D-H:M:S (0: none); "
	    "SIZE: MiB, or with K, M, G or T\n");
	exit(2);
}
