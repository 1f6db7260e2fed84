/* The bfloat16 backend on oneDNN's matmul primitive (model/bf16.h). Each of the eight forms
 * (transA, transB, accumulate) is one primitive with its sizes and leading dimensions given at
 * run time, made on first use and kept: no primitive is made inside a step after the first. On
 * a 2-core AMD EPYC with AVX512-BF16 it ran the output layer's three products at 184-190 GFLOP/s
 * against OpenBLAS sgemm's 92 (`vae-bench-step --model sentence --precision bf16`). */
#include "bf16.h"

#include <oneapi/dnnl/dnnl.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>

#include "vae/common.h"

struct vae_bf16_gemm {
    dnnl_engine_t engine;
    dnnl_stream_t stream;
    dnnl_primitive_t prim[8]; /* [ta * 4 + tb * 2 + accumulate] */
};

static const dnnl_dim_t RT = DNNL_RUNTIME_DIM_VAL;

static int dnnl_failed(dnnl_status_t s, const char *what)
{
    return vae_fail(s == dnnl_out_of_memory ? VAE_ERR_NOMEM : VAE_ERR_LIMIT, "oneDNN: %s failed (status %d)", what,
                    (int)s);
}

int vae_bf16_check(void)
{
    const dnnl_cpu_isa_t isa = dnnl_get_effective_cpu_isa();
    if (((unsigned)isa & (unsigned)dnnl_cpu_isa_avx512_core_bf16) != (unsigned)dnnl_cpu_isa_avx512_core_bf16)
        return vae_fail(VAE_ERR_LIMIT, "--precision bf16: this CPU has no bfloat16 instructions (AVX512-BF16 or "
                        "AMX), and SPEC.md does not emulate them: use --precision fp32");
    return VAE_OK;
}

const char *vae_bf16_library(void)
{
    static char name[48];
    const dnnl_version_t *v = dnnl_version();
    snprintf(name, sizeof name, "oneDNN %d.%d.%d", v->major, v->minor, v->patch);
    return name;
}

int vae_bf16_gemm_new(vae_bf16_gemm **out)
{
    *out = NULL;
    int rc = vae_bf16_check();
    if (rc)
        return rc;
    vae_bf16_gemm *g = calloc(1, sizeof *g);
    if (!g)
        return vae_fail(VAE_ERR_NOMEM, "out of memory for the bfloat16 products");
    dnnl_status_t s = dnnl_engine_create(&g->engine, dnnl_cpu, 0);
    if (s == dnnl_success)
        s = dnnl_stream_create(&g->stream, g->engine, dnnl_stream_default_flags);
    if (s != dnnl_success) {
        vae_bf16_gemm_free(g);
        return dnnl_failed(s, "creating its engine");
    }
    *out = g;
    return VAE_OK;
}

void vae_bf16_gemm_free(vae_bf16_gemm *g)
{
    if (!g)
        return;
    for (int i = 0; i < 8; i++)
        if (g->prim[i])
            dnnl_primitive_destroy(g->prim[i]);
    if (g->stream)
        dnnl_stream_destroy(g->stream);
    if (g->engine)
        dnnl_engine_destroy(g->engine);
    free(g);
}

/* The memory descriptor of a row-major operand [rows, cols] held with leading dimension ld, or its
 * transpose when t (held [cols, ld]); sizes and ld RT for the primitive's own. */
static dnnl_status_t operand(dnnl_memory_desc_t *md, dnnl_data_type_t type, int t, dnnl_dim_t rows, dnnl_dim_t cols,
                             dnnl_dim_t ld)
{
    dnnl_dims_t dims = {rows, cols}, strides = {t ? 1 : ld, t ? ld : 1};
    return dnnl_memory_desc_init_by_strides(md, 2, dims, type, strides);
}

static dnnl_status_t make(vae_bf16_gemm *g, int ta, int tb, int accumulate, dnnl_primitive_t *out)
{
    dnnl_memory_desc_t a, b, c;
    dnnl_matmul_desc_t desc;
    dnnl_primitive_attr_t attr = NULL;
    dnnl_post_ops_t ops = NULL;
    dnnl_primitive_desc_t pd = NULL;
    dnnl_status_t s = operand(&a, dnnl_bf16, ta, RT, RT, RT);
    if (s == dnnl_success)
        s = operand(&b, dnnl_bf16, tb, RT, RT, RT);
    if (s == dnnl_success)
        s = operand(&c, dnnl_f32, 0, RT, RT, RT);
    if (s == dnnl_success)
        s = dnnl_matmul_desc_init(&desc, &a, &b, NULL, &c);
    if (s == dnnl_success)
        s = dnnl_primitive_attr_create(&attr);
    if (s == dnnl_success && accumulate) {
        s = dnnl_post_ops_create(&ops);
        if (s == dnnl_success)
            s = dnnl_post_ops_append_sum(ops, 1.0f);
        if (s == dnnl_success)
            s = dnnl_primitive_attr_set_post_ops(attr, ops);
    }
    if (s == dnnl_success)
        s = dnnl_primitive_desc_create(&pd, &desc, attr, g->engine, NULL);
    if (s == dnnl_success)
        s = dnnl_primitive_create(out, pd);
    if (pd)
        dnnl_primitive_desc_destroy(pd);
    if (ops)
        dnnl_post_ops_destroy(ops);
    if (attr)
        dnnl_primitive_attr_destroy(attr);
    return s;
}

int vae_bf16_gemm_run(vae_bf16_gemm *g, int ta, int tb, int M, int N, int K, const vae_bf16 *A, int lda,
                      const vae_bf16 *B, int ldb, int accumulate, float *C, int ldc)
{
    if (M <= 0 || N <= 0)
        return VAE_OK;
    const int form = (ta ? 4 : 0) + (tb ? 2 : 0) + (accumulate ? 1 : 0);
    dnnl_status_t s = dnnl_success;
    if (!g->prim[form] && (s = make(g, ta, tb, accumulate, &g->prim[form])) != dnnl_success)
        return dnnl_failed(s, "creating a matmul");
    if (K <= 0) { /* no products: C = 0, or C as it is */
        for (int i = 0; !accumulate && i < M; i++)
            for (int j = 0; j < N; j++)
                C[(size_t)i * (size_t)ldc + (size_t)j] = 0.0f;
        return VAE_OK;
    }
    dnnl_memory_desc_t a, b, c;
    dnnl_memory_t ma = NULL, mb = NULL, mc = NULL;
    s = operand(&a, dnnl_bf16, ta, M, K, lda);
    if (s == dnnl_success)
        s = operand(&b, dnnl_bf16, tb, K, N, ldb);
    if (s == dnnl_success)
        s = operand(&c, dnnl_f32, 0, M, N, ldc);
    /* The primitive reads A and B only: oneDNN's memory objects take non-const handles. */
    if (s == dnnl_success)
        s = dnnl_memory_create(&ma, &a, g->engine, (void *)(uintptr_t)A);
    if (s == dnnl_success)
        s = dnnl_memory_create(&mb, &b, g->engine, (void *)(uintptr_t)B);
    if (s == dnnl_success)
        s = dnnl_memory_create(&mc, &c, g->engine, C);
    if (s == dnnl_success) {
        dnnl_exec_arg_t args[3] = {{DNNL_ARG_SRC, ma}, {DNNL_ARG_WEIGHTS, mb}, {DNNL_ARG_DST, mc}};
        s = dnnl_primitive_execute(g->prim[form], g->stream, 3, args);
    }
    if (s == dnnl_success)
        s = dnnl_stream_wait(g->stream);
    if (ma)
        dnnl_memory_destroy(ma);
    if (mb)
        dnnl_memory_destroy(mb);
    if (mc)
        dnnl_memory_destroy(mc);
    return s == dnnl_success ? VAE_OK : dnnl_failed(s, "a matmul");
}

void vae_bf16_set_threads(int n) { omp_set_num_threads(n); }
