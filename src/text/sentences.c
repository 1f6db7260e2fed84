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

/* Closing quotes and brackets, and opening ones: the ASCII ones by table, the others (U+2019 U+201D
 * U+00BB U+203A U+300D U+300F U+FF09; U+2018 U+201C U+00AB U+2039 U+300C U+300E U+FF08) by list. */
static const unsigned char ascii_closer[128] = {['"'] = 1, ['\''] = 1, [')'] = 1, [']'] = 1, ['}'] = 1};
static const unsigned char ascii_opener[128] = {['"'] = 1, ['\''] = 1, ['('] = 1, ['['] = 1, ['{'] = 1};
static const char *const closers[] = {"\xE2\x80\x99", "\xE2\x80\x9D", "\xC2\xBB", "\xE2\x80\xBA",
                                      "\xE3\x80\x8D", "\xE3\x80\x8F", "\xEF\xBC\x89", NULL};
static const char *const openers[] = {"\xE2\x80\x98", "\xE2\x80\x9C", "\xC2\xAB", "\xE2\x80\xB9",
                                      "\xE3\x80\x8C", "\xE3\x80\x8E", "\xEF\xBC\x88", NULL};

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

/* The length of the closer (or opener, with the other tables) that s[0..n) starts with, 0 when none. */
static size_t bracket(const unsigned char *s, size_t n, const unsigned char *ascii, const char *const *others)
{
    return s[0] < 0x80 ? ascii[s[0]] : match(s, n, others);
}

/* The length of the end punctuation that s[0..n) starts with (. ! ? U+2026, or the CJK marks
 * U+3002 U+FF01 U+FF1F, which set *cjk), 0 when none. */
static size_t end_mark(const unsigned char *s, size_t n, int *cjk)
{
    if (s[0] == '.' || s[0] == '!' || s[0] == '?')
        return 1;
    if (n < 3)
        return 0;
    if (s[0] == 0xE2 && s[1] == 0x80 && s[2] == 0xA6)
        return 3;
    if ((s[0] == 0xE3 && s[1] == 0x80 && s[2] == 0x82) ||
        (s[0] == 0xEF && s[1] == 0xBC && (s[2] == 0x81 || s[2] == 0x9F))) {
        *cjk = 1;
        return 3;
    }
    return 0;
}

/* The abbreviations by first letter (a word is compared with those of its own letter only). */
static const char *const abbreviations[26] = {
    ['a' - 'a'] = "al approx apr aug", ['c' - 'a'] = "capt cf col", ['d' - 'a'] = "dec dept dr",
    ['e' - 'a'] = "ed eds est",        ['f' - 'a'] = "feb fig figs fr", ['g' - 'a'] = "gen gov",
    ['h' - 'a'] = "hon",               ['j' - 'a'] = "jan jr jul jun", ['l' - 'a'] = "lt",
    ['m' - 'a'] = "mar mr mrs ms mt mx", ['n' - 'a'] = "nov", ['o' - 'a'] = "oct", ['p' - 'a'] = "pp prof",
    ['r' - 'a'] = "rep rev",           ['s' - 'a'] = "sen sep sept sgt sr st", ['v' - 'a'] = "viz vol vs"};

static int is_letter(unsigned char c) { return (unsigned)((c | 0x20) - 'a') < 26u; }

/* Whether w[0..n) is an abbreviation: in the list (ASCII case folded), or single letters joined
 * by dots. */
static int is_abbreviation(const unsigned char *w, size_t n)
{
    size_t k = 0;
    while (k < n && is_letter(w[k]) && (k + 1 == n || w[k + 1] == '.'))
        k += 2;
    if (k >= n && n > 0)
        return 1;
    if (n < 2 || !is_letter(w[0]))
        return 0;
    for (const char *a = abbreviations[(w[0] | 0x20) - 'a']; a && *a; a += *a == ' ') {
        size_t len = 0;
        while (a[len] && a[len] != ' ')
            len++;
        for (k = 1; len == n && k < n && (w[k] | 0x20) == (unsigned char)a[k] && is_letter(w[k]); k++)
            ;
        if (len == n && k == n)
            return 1;
        a += len;
    }
    return 0;
}

/* Whether the '.' at s[dot] ends an abbreviation: the word before it, back to white space or
 * from, openers left out. */
static int after_abbreviation(const unsigned char *s, size_t from, size_t dot)
{
    size_t w = dot;
    while (w > from && !is_space(s[w - 1]))
        w--;
    for (size_t len; w < dot && (len = bracket(s + w, dot - w, ascii_opener, openers)) > 0;)
        w += len;
    return is_abbreviation(s + w, dot - w);
}

/* Bytes at which a sentence may end: LF (a blank line) and the first bytes of end punctuation. A
 * table, as the scan looks every byte up. */
static const unsigned char may_end[256] = {['\n'] = 1, ['.'] = 1, ['!'] = 1, ['?'] = 1,
                                           [0xE2] = 1, [0xE3] = 1, [0xEF] = 1};

/* Where the sentence that starts at s[from] ends (its last byte + 1, before trimming), and in
 * *next where the scan resumes. */
static size_t sentence_end(const unsigned char *s, size_t n, size_t from, size_t *next)
{
    size_t i = from;
    while (i < n) {
        /* Eight lookups a step, independent of each other, then the byte among them. */
        while (i + 8 <= n && !(may_end[s[i]] | may_end[s[i + 1]] | may_end[s[i + 2]] | may_end[s[i + 3]] |
                               may_end[s[i + 4]] | may_end[s[i + 5]] | may_end[s[i + 6]] | may_end[s[i + 7]]))
            i += 8;
        while (i < n && !may_end[s[i]])
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
        for (; k < n && (len = end_mark(s + k, n - k, &cjk)) > 0; ends++)
            k += len;
        if (ends == 0) { /* a byte of another character */
            i++;
            continue;
        }
        int lone_dot = ends == 1 && s[i] == '.';
        while (k < n && (len = bracket(s + k, n - k, ascii_closer, closers)) > 0)
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
