/* A small JSON object writer for config.json, summary.jsonl and vae-infer's --json output: keys in
 * the order added, strings escaped, non-finite numbers written as null (JSON has no NaN). */
#ifndef VAE_JSON_H
#define VAE_JSON_H

#include <stddef.h>
#include <stdint.h>

#include "vae/model.h"

typedef struct {
    char *buf;
    size_t len, cap;
    int count;  /* members written to the current object */
    int failed; /* an allocation failed: the text is incomplete */
} json_buf;

void json_init(json_buf *j);
void json_free(json_buf *j);
void json_begin(json_buf *j);   /* clears, then "{" */
void json_end(json_buf *j);     /* "}" */
void json_str(json_buf *j, const char *key, const char *value);
void json_int(json_buf *j, const char *key, int64_t value);
void json_num(json_buf *j, const char *key, double value);
/* A float32 value, with the digits a float holds (7), so 1e-3f reads 0.001. */
void json_float(json_buf *j, const char *key, float value);
/* value is already JSON (an array or an object). */
void json_raw(json_buf *j, const char *key, const char *value);
/* A model's figures as members, in their order: counts as integers (the eval lines and vae-infer
 * eval write them alike). */
void json_figures(json_buf *j, const vae_figures *f);
/* Writes s as a JSON string literal (quotes included). */
void json_append_string(json_buf *j, const char *s);

#endif
