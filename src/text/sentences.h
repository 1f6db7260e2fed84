/* Units of a document for vae-prep --sequences (and for whatever else must cut text the same way,
 * e.g. extractive summaries that print sentences as they stand): sentences, lines or the whole
 * document, each reported as its byte span in the original text, white space around it left out.
 *
 * Sentence rule "sentences-v1" (also in vae-prep --help and docs/SPEC.md):
 * - A sentence ends after a run of end punctuation (. ! ? and U+2026 '...') and then any closing
 *   quotes and brackets (" ' ) ] } and U+2019, U+201D, U+00BB, U+203A, U+300D, U+300F, U+FF09),
 *   when white space or the end of the text follows. The CJK marks U+3002, U+FF01, U+FF1F end one
 *   with or without white space after them.
 * - Except after an abbreviation: a run that is one '.' ending a word (the bytes since the last
 *   white space, opening quotes and brackets left out) that is, in ASCII letters of any case, one
 *   of mr mrs ms mx dr prof rev fr sr jr st mt gen col lt sgt capt gov sen rep hon vs cf viz al
 *   approx fig figs vol pp ed eds dept est jan feb mar apr jun jul aug sep sept oct nov dec, or
 *   single letters joined by dots (initials and the like: "J.", "U.S.", "e.g.", "i.e.", "a.m.").
 * - A blank line (a line break, then only spaces, tabs or CRs, then another line break) always
 *   ends a sentence, even an unfinished one.
 * White space is ASCII's (space, tab, LF, VT, FF, CR). A line ends at each LF. A span never cuts
 * a token of the tokenizer (tokenize.h): it ends only where white space or a separator follows. */
#ifndef VAE_SENTENCES_H
#define VAE_SENTENCES_H

#include <stddef.h>

#define VAE_SENTENCES_NAME "sentences-v1"

typedef enum { VAE_UNIT_SENTENCE, VAE_UNIT_LINE, VAE_UNIT_DOCUMENT } vae_unit;

/* "sentence", "line" or "document"; vae_unit_parse gives 0 and *unit for one of them, -1 else. */
const char *vae_unit_name(vae_unit unit);
int vae_unit_parse(const char *name, vae_unit *unit);

/* Bytes [start, end) of the text. */
typedef struct {
    size_t start, end;
} vae_span;

/* A walk over the units of text[0..n), which it borrows. */
typedef struct {
    const char *text;
    size_t n, pos;
    vae_unit unit;
} vae_units;

void vae_units_begin(vae_units *u, vae_unit unit, const char *text, size_t n);
/* The next unit that is not all white space: 1 with *span filled in, 0 when none is left. */
int vae_units_next(vae_units *u, vae_span *span);

#endif
