/*
 * lim.h - the largest value slurm-bank takes for each kind of number,
 * wherever it enters: the socket, the spool, journal replay, bank.yaml,
 * the API's answers and bankctl's arguments.  Each is what Slurm and the
 * myBRC API can express (the reason is beside it).  A value beyond is
 * refused with a message naming the field; nothing is cut or wrapped.
 * docs/reliability.md lists where each is checked.
 */
#ifndef LIM_H
#define LIM_H

#include <stdint.h>

/* can_submit_job's job_cost: at most 11 digits, 2 of them decimals. */
#define LIM_COST_CENTS		INT64_C(99999999999)
/* A Job's amount: the server refuses more than 100000000.00. */
#define LIM_AMOUNT_CENTS	INT64_C(10000000000)
/*
 * Holds bankd keeps at once.  Each is at most LIM_COST_CENTS, so no sum
 * of holds can overflow (1e7 x 1e11 < 2^63): money arithmetic on holds
 * is exact, never saturated.
 */
#define LIM_HOLDS		10000000

/* CPUs, tasks, nodes, GPUs: the API's integers (int32), within Slurm's. */
#define LIM_COUNT		UINT32_C(2147483647)
/*
 * CPUs per task: Slurm's job_desc field is 16 bits, and 65534 and 65535
 * are its NO_VAL16 and INFINITE16 ("not set"), so an sbatch -c beyond
 * this does not reach job_submit as asked.
 */
#define LIM_CPUS_PER_TASK	UINT32_C(65533)
/* Minutes: Slurm's uint32 time limit, short of NO_VAL and INFINITE. */
#define LIM_MINUTES		UINT32_C(4294967293)
/* MiB: Slurm's 64-bit memory, whose top bit flags "per CPU". */
#define LIM_MEM_MB		((UINT64_C(1) << 63) - 1)
/* Tasks of a job array: Slurm's largest MaxArraySize. */
#define LIM_ARRAY_TASKS		UINT32_C(4000001)
/* Job ids and uids: 32 bits, short of Slurm's NO_VAL and (uid_t)-1. */
#define LIM_JOB_ID		UINT32_C(4294967293)
/* A job's runs under one id: Slurm's restart_cnt is a uint16_t. */
#define LIM_RUNS		UINT32_C(65535)
#define LIM_UID			UINT32_C(4294967294)
/* Report numbers: the journal reads them back as JSON integers (int64). */
#define LIM_SEQ			UINT64_C(9223372036854775807)
/* Seconds since 1970: RFC 3339's last date, 9999-12-31T23:59:59Z. */
#define LIM_DATE		INT64_C(253402300799)

/* Components of a heterogeneous job: Slurm's MAX_HET_JOB_COMPONENTS. */
#define LIM_HET_COMPONENTS	128

/* Names (account, partition, QoS) in bytes: bankd's buffers, less NUL. */
#define LIM_ACCOUNT_LEN		127
#define LIM_PARTITION_LEN	63
#define LIM_QOS_LEN		63
/*
 * A QoS's UsageFactor from Slurm (END's usage_factor), in millionths: up
 * to x1000.  Slurm stores a double; a site multiplies usage by 0 to 10.
 */
#define LIM_USAGE_FACTOR_MICRO	UINT64_C(1000000000)
/* A GPU type (a100) in bytes: what pricing keeps of it (price.h). */
#define LIM_GPU_TYPE_LEN	31

#endif /* LIM_H */
