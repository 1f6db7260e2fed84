/* Units of text: sentences by the rule "sentences-v1", lines, documents (see sentences.h). One
 * forward scan that stops only at bytes that may end a unit, so that it costs little next to
 * tokenizing the same bytes. */
#include "sentences.h"

#include <string.h>

static const char *const unit_names[3] = {"sentence", "line", "document"};

const char *vae_unit_name(vae_unit unit) { return unit_names[unit]; }

int vae_unit_parse(const char *name, vae_unit *unit)
{
    for (int i = 0; i < 3; i++)
        if (strcmp(name, unit_names[i]) == 0) {
            *unit = (vae_unit)i;
            return 0;
        }
    return -1;
}

static int is_space(unsigned char c) { return c == ' ' || (c >= '\t' && c <= '\r'); }

/* End punctuation that needs white space after it, that which does not (CJK), closers, openers. */
static const char *const ends_spaced[] = {".", "!", "?", "\xE2\x80\xA6", NULL};
static const char *const ends_cjk[] = {"\xE3\x80\x82", "\xEF\xBC\x81", "\xEF\xBC\x9F", NULL};
static const char *const closers[] = {"\"", "'", ")", "]", "}", "\xE2\x80\x99", "\xE2\x80\x9D", "\xC2\xBB",
                                      "\xE2\x80\xBA", "\xE3\x80\x8D", "\xE3\x80\x8F", "\xEF\xBC\x89", NULL};
static const char *const openers[] = {"\"", "'", "(", "[", "{", "\xE2\x80\x98", "\xE2\x80\x9C", "\xC2\xAB",
                                      "\xE2\x80\xB9", "\xE3\x80\x8C", "\xE3\x80\x8E", "\xEF\xBC\x88", NULL};

static const char *const abbreviations[] = {
    "mr", "mrs", "ms", "mx", "dr", "prof", "rev", "fr", "sr", "jr", "st", "mt", "gen", "col", "lt",
    "sgt", "capt", "gov", "sen", "rep", "hon", "vs", "cf", "viz", "al", "approx", "fig", "figs", "vol",
    "pp", "ed", "eds", "dept", "est", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept",
    "oct", "nov", "dec", NULL};

/* The length of the member of set that s[0..n) starts with, 0 when none. */
static size_t match(const unsigned char *s, size_t n, const char *const *set)
{
    for (; *set; set++) {
        size_t len = strlen(*set);
        if (len <= n && memcmp(s, *set, len) == 0)
            return len;
    }
    return 0;
}

static int is_letter(unsigned char c) { return (unsigned)((c | 0x20) - 'a') < 26u; }

/* Whether w[0..n) is an abbreviation: in the list (ASCII case folded), or single letters joined
 * by dots. */
static int is_abbreviation(const unsigned char *w, size_t n)
{
    char low[8];
    size_t k = 0;
    while (k < n && is_letter(w[k]) && (k + 1 == n || w[k + 1] == '.'))
        k += 2;
    if (k >= n && n > 0)
        return 1;
    if (n >= sizeof low)
        return 0;
    for (k = 0; k < n; k++)
        low[k] = (char)(w[k] >= 'A' && w[k] <= 'Z' ? w[k] + ('a' - 'A') : w[k]);
    low[n] = '\0';
    for (const char *const *a = abbreviations; *a; a++)
        if (strcmp(low, *a) == 0)
            return 1;
    return 0;
}

/* Whether the '.' at s[dot] ends an abbreviation: the word before it, back to white space or
 * from, openers left out. */
static int after_abbreviation(const unsigned char *s, size_t from, size_t dot)
{
    size_t w = dot;
    while (w > from && !is_space(s[w - 1]))
        w--;
    for (size_t len; w < dot && (len = match(s + w, dot - w, openers)) > 0;)
        w += len;
    return is_abbreviation(s + w, dot - w);
}

/* Bytes at which a sentence may end: LF (a blank line) and the first bytes of end punctuation. */
static int may_end(unsigned char c) { return c == '\n' || c == '.' || c == '!' || c == '?' || c == 0xE2 || c == 0xE3 || c == 0xEF; }

/* Where the sentence that starts at s[from] ends (its last byte + 1, before trimming), and in
 * *next where the scan resumes. */
static size_t sentence_end(const unsigned char *s, size_t n, size_t from, size_t *next)
{
    size_t i = from;
    while (i < n) {
        while (i < n && !may_end(s[i]))
            i++;
        if (i == n)
            break;
        if (s[i] == '\n') {
            size_t j = i + 1;
            while (j < n && s[j] != '\n' && is_space(s[j]))
                j++;
            if (j < n && s[j] == '\n') {
                *next = j;
                return i;
            }
            i++;
            continue;
        }
        size_t k = i, len, ends = 0;
        int cjk = 0;
        for (;;) {
            if ((len = match(s + k, n - k, ends_spaced)) > 0)
                ;
            else if ((len = match(s + k, n - k, ends_cjk)) > 0)
                cjk = 1;
            else
                break;
            k += len;
            ends++;
        }
        if (ends == 0) { /* a byte of another character */
            i++;
            continue;
        }
        int lone_dot = ends == 1 && s[i] == '.';
        while ((len = match(s + k, n - k, closers)) > 0)
            k += len;
        if ((cjk || k == n || is_space(s[k])) && !(lone_dot && after_abbreviation(s, from, i))) {
            *next = k;
            return k;
        }
        i = k;
    }
    *next = n;
    return n;
}

void vae_units_begin(vae_units *u, vae_unit unit, const char *text, size_t n)
{
    u->text = text;
    u->n = n;
    u->pos = 0;
    u->unit = unit;
}

int vae_units_next(vae_units *u, vae_span *span)
{
    const unsigned char *s = (const unsigned char *)u->text;
    for (;;) {
        size_t start = u->pos, end, next;
        while (start < u->n && is_space(s[start]))
            start++;
        if (start == u->n) {
            u->pos = u->n;
            return 0;
        }
        if (u->unit == VAE_UNIT_SENTENCE) {
            end = sentence_end(s, u->n, start, &next);
        } else if (u->unit == VAE_UNIT_LINE) {
            const unsigned char *lf = memchr(s + start, '\n', u->n - start);
            end = next = lf ? (size_t)(lf - s) : u->n;
        } else {
            end = next = u->n;
        }
        u->pos = next;
        while (end > start && is_space(s[end - 1]))
            end--;
        if (end > start) {
            span->start = start;
            span->end = end;
            return 1;
        }
    }
}
