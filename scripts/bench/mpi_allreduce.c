/* MPI_Allreduce baseline for GenCluster's ring (scripts/bench-mpi.sh builds and runs it).
 * float32 sum, in place; one warm-up, then ITERS timed iterations, each preceded by a barrier and timed as the
 * slowest rank's duration. Prints the same line format as `gencluster-trainer bench allreduce`. */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>

/* User + system CPU of this process so far (all threads), seconds. */
static double cpu_seconds(void) {
    struct rusage usage;
    getrusage(RUSAGE_SELF, &usage);
    return usage.ru_utime.tv_sec + usage.ru_stime.tv_sec + (usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

int main(int argc, char **argv) {
    MPI_Init(&argc, &argv);
    int rank, n;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &n);
    if (argc < 2) {
        if (rank == 0) fprintf(stderr, "usage: mpi_allreduce BYTES [ITERS]\n");
        MPI_Finalize();
        return 2;
    }
    long long bytes = atoll(argv[1]);
    int iters = argc > 2 ? atoi(argv[2]) : 5;
    long long count = bytes / (long long)sizeof(float);
    float *buffer = malloc((size_t)count * sizeof(float));
    if (buffer == NULL) {
        fprintf(stderr, "rank %d: cannot allocate %lld bytes\n", rank, bytes);
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    double total = 0, cpu = 0;
    long long wrong = 0;
    for (int it = 0; it < iters + 1; it++) {
        for (long long i = 0; i < count; i++) buffer[i] = (float)((i % 13) + rank);
        MPI_Barrier(MPI_COMM_WORLD);
        double cpu_start = cpu_seconds();
        double start = MPI_Wtime();
        MPI_Allreduce(MPI_IN_PLACE, buffer, (int)count, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
        double elapsed = MPI_Wtime() - start, slowest;
        if (it > 0) cpu += cpu_seconds() - cpu_start;
        MPI_Allreduce(&elapsed, &slowest, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
        if (it > 0) total += slowest;
    }
    long long rank_sum = (long long)n * (n - 1) / 2;
    for (long long i = 0; i < count; i++)
        if (buffer[i] != (float)(n * (i % 13) + rank_sum)) wrong++;
    long long all_wrong;
    double all_cpu;
    MPI_Reduce(&wrong, &all_wrong, 1, MPI_LONG_LONG, MPI_SUM, 0, MPI_COMM_WORLD);
    MPI_Reduce(&cpu, &all_cpu, 1, MPI_DOUBLE, MPI_SUM, 0, MPI_COMM_WORLD);
    if (rank == 0) {
        double mean = total / iters;
        double algbw = (double)bytes / mean / 1e9;
        double busbw = algbw * 2.0 * (n - 1) / n;
        /* cpu_ms: one rank's CPU during one all-reduce, averaged over ranks and iterations (as the ring bench). */
        printf("ranks=%d bytes=%lld time_ms=%.3f algbw_GBs=%.3f busbw_GBs=%.3f wrong=%lld cpu_ms=%.1f\n",
               n, bytes, mean * 1e3, algbw, busbw, all_wrong, all_cpu / n / iters * 1e3);
    }
    free(buffer);
    MPI_Finalize();
    return 0;
}
