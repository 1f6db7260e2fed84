/* Batch normalization without a scale (y = (x - mean) / sqrt(var + eps) + bias per column), as
 * PyTorch's BatchNorm1d(affine=False) followed by a learned shift. The statistics are those of the
 * global batch: a caller adds its rows into sums, has them summed over the processes, then
 * normalizes; backward the same with the two sums of the gradient. So the layer gives the same
 * result whatever the number of processes the batch is split over. The gradient arrives in double:
 * the normalization removes its part that is affine in the normalized input (the KL's pull on mu,
 * for one), which may dwarf the rest, and in float that cancellation would leave rounding noise
 * that differs with the split of the batch. */
#include "layers.h"

#include <math.h>
#include <string.h>

#define BN_EPS 1e-5
#define BN_MOMENTUM 0.1

/* The passes over a batch's rows are a seventh of a topic step (the decoder's [B, V], partly in
 * double): a portable build carries AVX-512 and AVX2 clones of them, which compute the default's
 * values (each column's sum in the same order; CMake builds this file without FMA contraction). */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__AVX512F__)
#define BN_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define BN_CLONES
#endif

BN_CLONES void bn_sums(double *sums, const float *x, int B, int C)
{
    double *s1 = sums, *s2 = sums + C;
    memset(sums, 0, sizeof(double) * 2 * (size_t)C);
    for (int r = 0; r < B; r++) {
        const float *row = x + (size_t)r * C;
        for (int c = 0; c < C; c++) {
            s1[c] += row[c];
            s2[c] += (double)row[c] * row[c];
        }
    }
}

void bn_batch_stats(const double *sums, double n, int C, float *mean, float *inv_std, float *running_mean,
                    float *running_var)
{
    for (int c = 0; c < C; c++) {
        const double m = n > 0 ? sums[c] / n : 0.0;
        double var = n > 0 ? sums[C + c] / n - m * m : 0.0;
        var = var > 0.0 ? var : 0.0;
        mean[c] = (float)m;
        inv_std[c] = (float)(1.0 / sqrt(var + BN_EPS));
        /* PyTorch's running statistics: the unbiased variance, momentum 0.1 (an empty batch, the
         * step of a failed read, moves nothing). */
        if (n < 1)
            continue;
        const double unbiased = n > 1 ? var * n / (n - 1) : var;
        running_mean[c] = (float)((1.0 - BN_MOMENTUM) * running_mean[c] + BN_MOMENTUM * m);
        running_var[c] = (float)((1.0 - BN_MOMENTUM) * running_var[c] + BN_MOMENTUM * unbiased);
    }
}

void bn_running_stats(int C, const float *running_mean, const float *running_var, float *mean, float *inv_std)
{
    for (int c = 0; c < C; c++) {
        mean[c] = running_mean[c];
        inv_std[c] = (float)(1.0 / sqrt((double)running_var[c] + BN_EPS));
    }
}

BN_CLONES void bn_forward(float *hat, float *y, const float *x, const float *mean, const float *inv_std, const float *bias,
                int B, int C)
{
    for (int r = 0; r < B; r++) {
        const size_t o = (size_t)r * C;
        for (int c = 0; c < C; c++) {
            const float h = (x[o + c] - mean[c]) * inv_std[c];
            if (hat)
                hat[o + c] = h;
            y[o + c] = h + bias[c];
        }
    }
}

BN_CLONES void bn_backward_sums(double *sums, float *dbias, const double *dy, const float *hat, int B, int C)
{
    double *s1 = sums, *s2 = sums + C;
    memset(sums, 0, sizeof(double) * 2 * (size_t)C);
    for (int r = 0; r < B; r++) {
        const double *g = dy + (size_t)r * C;
        const float *h = hat + (size_t)r * C;
        for (int c = 0; c < C; c++) {
            s1[c] += g[c];
            s2[c] += (double)g[c] * h[c];
        }
    }
    for (int c = 0; c < C; c++)
        dbias[c] = (float)s1[c];
}

BN_CLONES void bn_backward(float *dx, const double *dy, const float *hat, double *sums, double n, const float *inv_std, int B,
                 int C)
{
    /* The two means once a column, not once an element: the same values, without two divisions
     * in the loop over the batch (the decoder's [B, V] made them a tenth of a topic step). */
    if (n > 0)
        for (int c = 0; c < 2 * C; c++)
            sums[c] /= n;
    const double *mean_dy = sums, *mean_dy_hat = sums + C;
    for (int r = 0; r < B; r++) {
        const size_t o = (size_t)r * C;
        for (int c = 0; c < C; c++)
            dx[o + c] = (float)(inv_std[c] * (dy[o + c] - mean_dy[c] - hat[o + c] * mean_dy_hat[c]));
    }
}
