/*
 * c_example: an arqhost task module written in C against the guest ABI directly (abi/ABI.md,
 * abi/arqhost.h), without an SDK. It serves two tasks:
 *
 *   c_word_count(text, min_len)  the word_count task of modules/examples/go/data: the words of
 *                                at least min_len bytes in text, with punctuation trimmed, how
 *                                many are distinct (case-insensitively) and the longest;
 *                                {"words": N, "unique": M, "longest": "..."}. Both arguments are
 *                                optional, by position or keyword (text "" and min_len 0).
 *   c_noop()                     does nothing; its result is null.
 *
 * For the same input they give the Go tasks' output, errors included (kinds, types and the Go
 * SDK's TypeError messages). The JSON input is read by a small hand-written scanner.
 *
 * Build (wasi-libc provides malloc and towlower; see README.md):
 *
 *   clang --target=wasm32-wasi -mexec-model=reactor -O2 -o c_example.wasm main.c
 *
 * Memory: the input buffer from arqhost_alloc is reused while it is large enough, and stays
 * untouched until arqhost_run returns; the output buffer stays valid until the next call. Buffers
 * that grew past 1 MiB are freed when a job is done with them.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <wctype.h>

#include "../../../abi/arqhost.h"

/* ---------------------------------------------------------------------------------------------
 * Growable byte buffers.
 */

typedef struct {
    char *p;
    size_t len, cap;
} buf;

/* A buffer larger than this is freed rather than kept when a job is done with it. */
#define SHRINK_ABOVE (1u << 20)

static void buf_grow(buf *b, size_t extra) {
    if (b->len + extra <= b->cap) return;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + extra) cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p) __builtin_trap(); /* out of memory: the host reports the trap (or "limit exceeded") */
    b->p = p;
    b->cap = cap;
}

static void buf_reset(buf *b) {
    if (b->cap > SHRINK_ABOVE) {
        free(b->p);
        b->p = NULL;
        b->cap = 0;
    }
    b->len = 0;
}

static void put(buf *b, const char *s, size_t n) {
    buf_grow(b, n);
    memcpy(b->p + b->len, s, n);
    b->len += n;
}

static void puts_(buf *b, const char *s) { put(b, s, strlen(s)); }

static void putc_(buf *b, char c) {
    buf_grow(b, 1);
    b->p[b->len++] = c;
}

/* Appends n in decimal. */
static void put_uint(buf *b, uint64_t n) {
    char d[20];
    size_t k = sizeof d;
    do {
        d[--k] = (char)('0' + n % 10);
        n /= 10;
    } while (n);
    put(b, d + k, sizeof d - k);
}

/* Appends the escape prefix then v in `digits` lowercase hex digits: \u00a0, \x01. */
static void put_hex_escape(buf *b, const char *prefix, uint32_t v, int digits) {
    static const char hex[] = "0123456789abcdef";
    puts_(b, prefix);
    for (int k = digits - 1; k >= 0; k--) putc_(b, hex[(v >> (4 * k)) & 0xF]);
}

static void put_rune(buf *b, uint32_t r) {
    char e[4];
    size_t n;
    if (r < 0x80) {
        e[0] = (char)r;
        n = 1;
    } else if (r < 0x800) {
        e[0] = (char)(0xC0 | (r >> 6));
        e[1] = (char)(0x80 | (r & 0x3F));
        n = 2;
    } else if (r < 0x10000) {
        e[0] = (char)(0xE0 | (r >> 12));
        e[1] = (char)(0x80 | ((r >> 6) & 0x3F));
        e[2] = (char)(0x80 | (r & 0x3F));
        n = 3;
    } else {
        e[0] = (char)(0xF0 | (r >> 18));
        e[1] = (char)(0x80 | ((r >> 12) & 0x3F));
        e[2] = (char)(0x80 | ((r >> 6) & 0x3F));
        e[3] = (char)(0x80 | (r & 0x3F));
        n = 4;
    }
    put(b, e, n);
}

/* ---------------------------------------------------------------------------------------------
 * UTF-8, as Go's utf8.DecodeRune reads it: an invalid sequence is U+FFFD of width 1.
 */

#define RUNE_ERROR 0xFFFDu

static uint32_t decode_rune(const unsigned char *s, size_t n, size_t *width) {
    unsigned char c = s[0];
    *width = 1;
    if (c < 0x80) return c;
    size_t need;
    uint32_t r;
    unsigned char lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) {
        need = 1;
        r = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        need = 2;
        r = c & 0x0F;
        if (c == 0xE0) lo = 0xA0;
        if (c == 0xED) hi = 0x9F; /* no UTF-16 surrogates */
    } else if (c >= 0xF0 && c <= 0xF4) {
        need = 3;
        r = c & 0x07;
        if (c == 0xF0) lo = 0x90;
        if (c == 0xF4) hi = 0x8F;
    } else {
        return RUNE_ERROR;
    }
    if (n < need + 1) return RUNE_ERROR;
    for (size_t i = 1; i <= need; i++) {
        unsigned char d = s[i];
        if (i == 1 ? (d < lo || d > hi) : (d < 0x80 || d > 0xBF)) return RUNE_ERROR;
        r = (r << 6) | (d & 0x3F);
    }
    *width = need + 1;
    return r;
}

/* Go's unicode.IsSpace: the Unicode White_Space property. */
static int is_space(uint32_t r) {
    switch (r) {
    case '\t': case '\n': case '\v': case '\f': case '\r': case ' ': case 0x85: case 0xA0:
    case 0x1680: case 0x2028: case 0x2029: case 0x202F: case 0x205F: case 0x3000:
        return 1;
    }
    return r >= 0x2000 && r <= 0x200A;
}

/* Go's unicode.ToLower (simple case mapping), through wasi-libc's towlower. */
static uint32_t to_lower(uint32_t r) {
    if (r < 0x80) return (r >= 'A' && r <= 'Z') ? r + 32 : r;
    if (r == 0x130) return 'i';
    return (uint32_t)towlower((wint_t)r);
}

/* ---------------------------------------------------------------------------------------------
 * Output: {"result": ...} or {"error": {...}}, strings escaped as Go's encoding/json does
 * without HTML escaping.
 */

static buf out;

static void put_json_string(buf *b, const char *s, size_t n) {
    static const char hex[] = "0123456789abcdef";
    putc_(b, '"');
    size_t i = 0, start = 0;
    while (i < n) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\' && c < 0x80) {
            i++;
            continue;
        }
        if (c >= 0x80) {
            size_t w;
            uint32_t r = decode_rune((const unsigned char *)s + i, n - i, &w);
            if (r != 0x2028 && r != 0x2029 && !(r == RUNE_ERROR && w == 1)) {
                i += w;
                continue;
            }
            put(b, s + start, i - start);
            if (r == RUNE_ERROR) puts_(b, "\\ufffd");
            else put_hex_escape(b, "\\u", r, 4);
            i += w;
            start = i;
            continue;
        }
        put(b, s + start, i - start);
        switch (c) {
        case '"': puts_(b, "\\\""); break;
        case '\\': puts_(b, "\\\\"); break;
        case '\b': puts_(b, "\\b"); break;
        case '\f': puts_(b, "\\f"); break;
        case '\n': puts_(b, "\\n"); break;
        case '\r': puts_(b, "\\r"); break;
        case '\t': puts_(b, "\\t"); break;
        default:
            puts_(b, "\\u00");
            putc_(b, hex[c >> 4]);
            putc_(b, hex[c & 0xF]);
        }
        i++;
        start = i;
    }
    put(b, s + start, n - start);
    putc_(b, '"');
}

/* Writes {"error": {"kind": kind, "type": type, "message": msg}}. */
static void write_error(const char *kind, const char *type, const char *msg, size_t msg_len) {
    out.len = 0;
    puts_(&out, "{\"error\":{\"kind\":\"");
    puts_(&out, kind);
    puts_(&out, "\",\"type\":");
    put_json_string(&out, type, strlen(type));
    puts_(&out, ",\"message\":");
    put_json_string(&out, msg, msg_len);
    puts_(&out, "}}");
}

/* Messages are built here before they are written as JSON. */
static buf msg;

static void fail(const char *kind, const char *type) { write_error(kind, type, msg.p, msg.len); }

/* Appends s quoted as Go's %q does (strconv.Quote), for the names in messages. */
static void put_go_quoted(buf *b, const char *s, size_t n) {
    putc_(b, '"');
    for (size_t i = 0; i < n;) {
        size_t w;
        uint32_t r = decode_rune((const unsigned char *)s + i, n - i, &w);
        switch (r) {
        case '"': puts_(b, "\\\""); break;
        case '\\': puts_(b, "\\\\"); break;
        case '\a': puts_(b, "\\a"); break;
        case '\b': puts_(b, "\\b"); break;
        case '\f': puts_(b, "\\f"); break;
        case '\n': puts_(b, "\\n"); break;
        case '\r': puts_(b, "\\r"); break;
        case '\t': puts_(b, "\\t"); break;
        case '\v': puts_(b, "\\v"); break;
        default:
            if (r < 0x20 || r == 0x7F) put_hex_escape(b, "\\x", r, 2);
            else if (r == RUNE_ERROR && w == 1) put_hex_escape(b, "\\x", (unsigned char)s[i], 2);
            else if ((r >= 0x80 && r <= 0xA0) || r == 0xAD || (r != ' ' && is_space(r)) ||
                     (r >= 0x200B && r <= 0x200F) || (r >= 0x202A && r <= 0x202E) ||
                     (r >= 0x2060 && r <= 0x2064) || r == 0xFEFF)
                put_hex_escape(b, "\\u", r, 4);
            else put(b, s + i, w);
        }
        i += w;
    }
    putc_(b, '"');
}

/* ---------------------------------------------------------------------------------------------
 * JSON scanning. The scanner checks that the input is valid JSON as it goes; a failure leaves a
 * reason in msg and returns 0.
 */

typedef struct {
    const unsigned char *b;
    size_t n, i;
} scanner;

static int scan_error(scanner *s, const char *what) {
    msg.len = 0;
    puts_(&msg, "invalid job input: ");
    puts_(&msg, what);
    if (s->i >= s->n) puts_(&msg, " (at the end of the input)");
    else {
        puts_(&msg, " (at offset ");
        put_uint(&msg, s->i);
        putc_(&msg, ')');
    }
    return 0;
}

static void skip_space(scanner *s) {
    while (s->i < s->n) {
        unsigned char c = s->b[s->i];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r') return;
        s->i++;
    }
}

static int consume(scanner *s, unsigned char c) {
    if (s->i < s->n && s->b[s->i] == c) {
        s->i++;
        return 1;
    }
    return 0;
}

static int hex4(const unsigned char *p, size_t avail, uint32_t *v) {
    if (avail < 4) return 0;
    uint32_t r = 0;
    for (int k = 0; k < 4; k++) {
        unsigned char c = p[k];
        r <<= 4;
        if (c >= '0' && c <= '9') r |= (uint32_t)(c - '0');
        else if (c >= 'a' && c <= 'f') r |= (uint32_t)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F') r |= (uint32_t)(c - 'A' + 10);
        else return 0;
    }
    *v = r;
    return 1;
}

/*
 * Reads a string at its opening quote. With dst, appends the decoded text to it as Go's
 * encoding/json decodes strings: escapes resolved, a lone UTF-16 surrogate and each byte of
 * invalid UTF-8 replaced by U+FFFD.
 */
static int scan_string(scanner *s, buf *dst) {
    s->i++; /* the quote */
    size_t start = s->i;
    while (s->i < s->n) {
        unsigned char c = s->b[s->i];
        if (c == '"') {
            if (dst) put(dst, (const char *)s->b + start, s->i - start);
            s->i++;
            return 1;
        }
        if (c < 0x20) return scan_error(s, "invalid control character in a string");
        if (c == '\\') {
            if (dst) put(dst, (const char *)s->b + start, s->i - start);
            s->i++;
            if (s->i >= s->n) return scan_error(s, "unterminated string");
            char e = (char)s->b[s->i++];
            switch (e) {
            case '"': case '\\': case '/': if (dst) putc_(dst, e); break;
            case 'b': if (dst) putc_(dst, '\b'); break;
            case 'f': if (dst) putc_(dst, '\f'); break;
            case 'n': if (dst) putc_(dst, '\n'); break;
            case 'r': if (dst) putc_(dst, '\r'); break;
            case 't': if (dst) putc_(dst, '\t'); break;
            case 'u': {
                uint32_t r;
                if (!hex4(s->b + s->i, s->n - s->i, &r)) return scan_error(s, "invalid \\u escape in a string");
                s->i += 4;
                if (r >= 0xD800 && r < 0xE000) {
                    uint32_t r2;
                    if (r < 0xDC00 && s->n - s->i >= 6 && s->b[s->i] == '\\' && s->b[s->i + 1] == 'u' &&
                        hex4(s->b + s->i + 2, s->n - s->i - 2, &r2) && r2 >= 0xDC00 && r2 < 0xE000) {
                        s->i += 6;
                        r = 0x10000 + ((r - 0xD800) << 10) + (r2 - 0xDC00);
                    } else {
                        r = RUNE_ERROR;
                    }
                }
                if (dst) put_rune(dst, r);
                break;
            }
            default:
                s->i--;
                return scan_error(s, "invalid escape in a string");
            }
            start = s->i;
            continue;
        }
        if (c >= 0x80) {
            size_t w;
            uint32_t r = decode_rune(s->b + s->i, s->n - s->i, &w);
            if (r == RUNE_ERROR && w == 1) {
                if (dst) {
                    put(dst, (const char *)s->b + start, s->i - start);
                    put_rune(dst, RUNE_ERROR);
                }
                s->i++;
                start = s->i;
                continue;
            }
            s->i += w;
            continue;
        }
        s->i++;
    }
    return scan_error(s, "unterminated string");
}

static size_t digits(scanner *s) {
    size_t start = s->i;
    while (s->i < s->n && s->b[s->i] >= '0' && s->b[s->i] <= '9') s->i++;
    return s->i - start;
}

/* Reads a number: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
static int scan_number(scanner *s) {
    consume(s, '-');
    if (!consume(s, '0')) {
        if (s->i >= s->n || s->b[s->i] < '1' || s->b[s->i] > '9') return scan_error(s, "invalid number");
        digits(s);
    }
    if (consume(s, '.') && digits(s) == 0) return scan_error(s, "invalid number");
    if (consume(s, 'e') || consume(s, 'E')) {
        if (!consume(s, '+')) consume(s, '-');
        if (digits(s) == 0) return scan_error(s, "invalid number");
    }
    return 1;
}

static int scan_literal(scanner *s, const char *lit) {
    size_t n = strlen(lit);
    if (s->n - s->i < n || memcmp(s->b + s->i, lit, n) != 0) {
        return scan_error(s, lit[0] == 't' ? "invalid literal, expected true"
                             : lit[0] == 'f' ? "invalid literal, expected false"
                                             : "invalid literal, expected null");
    }
    s->i += n;
    return 1;
}

static int scan_scalar(scanner *s) {
    if (s->i >= s->n) return scan_error(s, "expected a value");
    unsigned char c = s->b[s->i];
    if (c == '"') return scan_string(s, NULL);
    if (c == '-' || (c >= '0' && c <= '9')) return scan_number(s);
    if (c == 't') return scan_literal(s, "true");
    if (c == 'f') return scan_literal(s, "false");
    if (c == 'n') return scan_literal(s, "null");
    return scan_error(s, "invalid character looking for a value");
}

#define MAX_DEPTH 10000

/* Skips one value, checking it; without recursion, so that deep nesting cannot overflow the stack. */
static int skip_value(scanner *s) {
    static unsigned char stack[MAX_DEPTH];
    size_t depth = 0;
    for (;;) {
        /* At a value. */
        skip_space(s);
        if (s->i < s->n && (s->b[s->i] == '{' || s->b[s->i] == '[')) {
            unsigned char open = s->b[s->i++];
            if (depth == MAX_DEPTH) return scan_error(s, "the input is nested too deeply");
            stack[depth++] = open;
            skip_space(s);
            if (consume(s, open == '{' ? '}' : ']')) {
                depth--;
            } else if (open == '{') {
                if (s->i >= s->n || s->b[s->i] != '"') return scan_error(s, "expected a member name");
                if (!scan_string(s, NULL)) return 0;
                skip_space(s);
                if (!consume(s, ':')) return scan_error(s, "expected ':' after a member name");
                continue;
            } else {
                continue;
            }
        } else if (!scan_scalar(s)) {
            return 0;
        }
        /* After a value: close containers until another value is due. */
        for (;;) {
            if (depth == 0) return 1;
            skip_space(s);
            unsigned char top = stack[depth - 1];
            if (consume(s, ',')) {
                if (top == '{') {
                    skip_space(s);
                    if (s->i >= s->n || s->b[s->i] != '"') return scan_error(s, "expected a member name");
                    if (!scan_string(s, NULL)) return 0;
                    skip_space(s);
                    if (!consume(s, ':')) return scan_error(s, "expected ':' after a member name");
                }
                break;
            }
            if (consume(s, top == '{' ? '}' : ']')) {
                depth--;
                continue;
            }
            return scan_error(s, top == '{' ? "expected ',' or '}' after a member"
                                            : "expected ',' or ']' after an array element");
        }
    }
}

/* ---------------------------------------------------------------------------------------------
 * The job input (ABI.md section 3): only function, args and kwargs are used, but every known
 * member is type-checked as the SDKs do; unknown members are skipped.
 */

typedef struct {
    size_t start, end; /* the raw value in the input */
} span;

typedef struct {
    size_t name, name_len; /* the decoded name, in the names buffer */
    span value;
} kwarg;

static const unsigned char *input; /* the job input being run */
static buf names;                /* decoded strings: the function name, keyword names */
static span *args;               /* positional arguments */
static size_t nargs, args_cap;
static kwarg *kwargs;            /* keyword arguments, a repeated name keeping its last value */
static size_t nkwargs, kwargs_cap;
static size_t function_off, function_len;

static int is_null(scanner *s) {
    if (s->n - s->i >= 4 && memcmp(s->b + s->i, "null", 4) == 0) {
        s->i += 4;
        return 1;
    }
    return 0;
}

/* A known member of the wrong type; like the Go SDK, with the offset except for job_try. */
static int member_error(scanner *s, const char *key, const char *what) {
    msg.len = 0;
    puts_(&msg, "invalid job input: member \"");
    puts_(&msg, key);
    puts_(&msg, "\" is not ");
    puts_(&msg, what);
    if (strcmp(key, "job_try") != 0) {
        if (s->i >= s->n) {
            puts_(&msg, " (at the end of the input)");
        } else {
            puts_(&msg, " (at offset ");
            put_uint(&msg, s->i);
            putc_(&msg, ')');
        }
    }
    return 0;
}

static int read_args(scanner *s) {
    nargs = 0;
    if (is_null(s)) return 1;
    if (!consume(s, '[')) return member_error(s, "args", "an array");
    skip_space(s);
    if (consume(s, ']')) return 1;
    for (;;) {
        skip_space(s);
        size_t start = s->i;
        if (!skip_value(s)) return 0;
        if (nargs == args_cap) {
            args_cap = args_cap ? 2 * args_cap : 8;
            args = realloc(args, args_cap * sizeof *args);
            if (!args) __builtin_trap();
        }
        args[nargs].start = start;
        args[nargs].end = s->i;
        nargs++;
        skip_space(s);
        if (consume(s, ']')) return 1;
        if (!consume(s, ',')) return scan_error(s, "expected ',' or ']' after an array element");
    }
}

static int read_kwargs(scanner *s) {
    nkwargs = 0;
    if (is_null(s)) return 1;
    if (!consume(s, '{')) return member_error(s, "kwargs", "an object");
    skip_space(s);
    if (consume(s, '}')) return 1;
    for (;;) {
        skip_space(s);
        if (s->i >= s->n || s->b[s->i] != '"') return scan_error(s, "expected a member name");
        size_t off = names.len;
        if (!scan_string(s, &names)) return 0;
        size_t len = names.len - off;
        skip_space(s);
        if (!consume(s, ':')) return scan_error(s, "expected ':' after a member name");
        skip_space(s);
        size_t start = s->i;
        if (!skip_value(s)) return 0;
        size_t k;
        for (k = 0; k < nkwargs; k++)
            if (kwargs[k].name_len == len && memcmp(names.p + kwargs[k].name, names.p + off, len) == 0) break;
        if (k == nkwargs) {
            if (nkwargs == kwargs_cap) {
                kwargs_cap = kwargs_cap ? 2 * kwargs_cap : 8;
                kwargs = realloc(kwargs, kwargs_cap * sizeof *kwargs);
                if (!kwargs) __builtin_trap();
            }
            kwargs[k].name = off;
            kwargs[k].name_len = len;
            nkwargs++;
        }
        kwargs[k].value.start = start;
        kwargs[k].value.end = s->i;
        skip_space(s);
        if (consume(s, '}')) return 1;
        if (!consume(s, ',')) return scan_error(s, "expected ',' or '}' after a member");
    }
}

static int key_is(const buf *b, size_t off, size_t len, const char *k) {
    return strlen(k) == len && memcmp(b->p + off, k, len) == 0;
}

static int parse_input(scanner *s) {
    function_off = function_len = 0;
    nargs = nkwargs = 0;
    skip_space(s);
    if (!consume(s, '{')) return scan_error(s, "the job input is not a JSON object");
    skip_space(s);
    if (!consume(s, '}')) {
        for (;;) {
            skip_space(s);
            if (s->i >= s->n || s->b[s->i] != '"') return scan_error(s, "expected a member name");
            size_t off = names.len;
            if (!scan_string(s, &names)) return 0;
            size_t len = names.len - off;
            skip_space(s);
            if (!consume(s, ':')) return scan_error(s, "expected ':' after a member name");
            skip_space(s);
            static const char *const strings[] = {"job_id", "function", "enqueue_time", "queue_name", "worker_id"};
            int done = 0;
            for (size_t k = 0; k < sizeof strings / sizeof *strings; k++) {
                if (!key_is(&names, off, len, strings[k])) continue;
                done = 1;
                names.len = off; /* the key is no longer needed */
                if (is_null(s)) break;
                if (s->i >= s->n || s->b[s->i] != '"') return member_error(s, strings[k], "a string");
                size_t voff = names.len;
                if (!scan_string(s, k == 1 ? &names : NULL)) return 0;
                if (k == 1) {
                    function_off = voff;
                    function_len = names.len - voff;
                }
                break;
            }
            if (!done) {
                if (key_is(&names, off, len, "job_try")) {
                    names.len = off;
                    if (!is_null(s)) {
                        size_t start = s->i;
                        if (s->i >= s->n || !(s->b[s->i] == '-' || (s->b[s->i] >= '0' && s->b[s->i] <= '9')))
                            return member_error(s, "job_try", "an integer");
                        if (!scan_number(s)) return member_error(s, "job_try", "an integer");
                        for (size_t k = start; k < s->i; k++)
                            if (s->b[k] == '.' || s->b[k] == 'e' || s->b[k] == 'E') return member_error(s, "job_try", "an integer");
                        if (s->i - start > 19) return member_error(s, "job_try", "an integer");
                    }
                } else if (key_is(&names, off, len, "args")) {
                    names.len = off;
                    if (!read_args(s)) return 0;
                } else if (key_is(&names, off, len, "kwargs")) {
                    names.len = off;
                    if (!read_kwargs(s)) return 0;
                } else {
                    names.len = off;
                    if (!skip_value(s)) return 0;
                }
            }
            skip_space(s);
            if (consume(s, '}')) break;
            if (!consume(s, ',')) return scan_error(s, "expected ',' or '}' after a member");
        }
    }
    skip_space(s);
    if (s->i != s->n) return scan_error(s, "unexpected data after the job input");
    return 1;
}

/* ---------------------------------------------------------------------------------------------
 * Argument binding, with the Go SDK's TypeError messages.
 */

typedef struct {
    const char *task;
    const char *const *params; /* names; every parameter of these tasks is optional */
    size_t n;
} signature;

static void type_error_start(const signature *sig) {
    msg.len = 0;
    puts_(&msg, sig->task);
    puts_(&msg, "() ");
}

static void put_arg_name(const signature *sig, size_t i) {
    put_go_quoted(&msg, sig->params[i], strlen(sig->params[i]));
    puts_(&msg, " (position ");
    put_uint(&msg, i + 1);
    putc_(&msg, ')');
}

static const char *sort_base;

static int cmp_names(const void *a, const void *b) {
    const kwarg *x = *(const kwarg *const *)a, *y = *(const kwarg *const *)b;
    size_t n = x->name_len < y->name_len ? x->name_len : y->name_len;
    int c = memcmp(sort_base + x->name, sort_base + y->name, n);
    if (c != 0) return c;
    return (x->name_len > y->name_len) - (x->name_len < y->name_len);
}

/* Appends the sorted, quoted names of the listed keyword arguments: "a", "b". */
static void put_sorted_names(kwarg **list, size_t n) {
    sort_base = names.p;
    qsort(list, n, sizeof *list, cmp_names);
    for (size_t k = 0; k < n; k++) {
        if (k) puts_(&msg, ", ");
        put_go_quoted(&msg, names.p + list[k]->name, list[k]->name_len);
    }
}

/*
 * Binds the job's arguments to the parameters of sig (all optional): raws[i] is the raw value of
 * parameter i, or a span with start == end when the job did not pass it. Returns 0 after writing
 * a TypeError.
 */
static int bind(const signature *sig, span *raws) {
    for (size_t i = 0; i < sig->n; i++) raws[i].start = raws[i].end = 0;
    if (nargs > sig->n) {
        type_error_start(sig);
        if (sig->n == 0) puts_(&msg, "takes 0 arguments");
        else if (sig->n == 1) puts_(&msg, "takes at most 1 argument");
        else {
            puts_(&msg, "takes at most ");
            put_uint(&msg, sig->n);
            puts_(&msg, " arguments");
        }
        puts_(&msg, " but ");
        put_uint(&msg, nargs);
        puts_(&msg, nargs == 1 ? " was given" : " were given");
        fail("permanent", "TypeError");
        return 0;
    }
    for (size_t i = 0; i < nargs; i++) raws[i] = args[i];
    if (nkwargs == 0) return 1;
    kwarg **list = malloc(nkwargs * sizeof *list);
    if (!list) __builtin_trap();
    if (sig->n == 0) {
        for (size_t k = 0; k < nkwargs; k++) list[k] = &kwargs[k];
        type_error_start(sig);
        puts_(&msg, "takes no keyword arguments, got ");
        put_sorted_names(list, nkwargs);
        free(list);
        fail("permanent", "TypeError");
        return 0;
    }
    size_t nunknown = 0, twice[8], ntwice = 0;
    for (size_t k = 0; k < nkwargs; k++) {
        size_t i;
        for (i = 0; i < sig->n; i++)
            if (key_is(&names, kwargs[k].name, kwargs[k].name_len, sig->params[i])) break;
        if (i == sig->n) list[nunknown++] = &kwargs[k];
        else if (i < nargs) twice[ntwice++] = i;
        else raws[i] = kwargs[k].value;
    }
    if (nunknown > 0) {
        type_error_start(sig);
        puts_(&msg, nunknown == 1 ? "got an unexpected keyword argument " : "got unexpected keyword arguments ");
        put_sorted_names(list, nunknown);
        free(list);
        fail("permanent", "TypeError");
        return 0;
    }
    free(list);
    if (ntwice > 0) {
        type_error_start(sig);
        puts_(&msg, ntwice == 1 ? "got multiple values for argument " : "got multiple values for arguments ");
        for (size_t i = 0, first = 1; i < sig->n; i++) { /* in parameter order */
            for (size_t t = 0; t < ntwice; t++) {
                if (twice[t] != i) continue;
                if (!first) puts_(&msg, ", ");
                first = 0;
                put_arg_name(sig, i);
                break;
            }
        }
        fail("permanent", "TypeError");
        return 0;
    }
    return 1;
}

/* Go's name for the JSON type of a raw value, as its decoding errors say: "got number". */
static const char *json_kind(unsigned char c) {
    switch (c) {
    case '"': return "string";
    case 't': case 'f': return "bool";
    case '[': return "array";
    case '{': return "object";
    }
    return "number";
}

static void decode_error(const signature *sig, size_t i, const char *expected, const span *v, int with_literal) {
    const unsigned char *raw = input;
    type_error_start(sig);
    puts_(&msg, "argument ");
    put_arg_name(sig, i);
    puts_(&msg, ": expected ");
    puts_(&msg, expected);
    puts_(&msg, ", got ");
    puts_(&msg, json_kind(raw[v->start]));
    if (with_literal) {
        putc_(&msg, ' ');
        put(&msg, (const char *)raw + v->start, v->end - v->start);
    }
    fail("permanent", "TypeError");
}

/* Decodes an optional string argument ("" when absent or null) into dst. */
static int decode_string(const signature *sig, size_t i, const span *v, buf *dst) {
    dst->len = 0;
    if (v->start == v->end || input[v->start] == 'n') return 1;
    if (input[v->start] != '"') {
        decode_error(sig, i, "string", v, 0);
        return 0;
    }
    scanner s = {input, v->end, v->start};
    return scan_string(&s, dst); /* already checked: cannot fail */
}

/* Decodes an optional int argument (0 when absent or null). */
static int decode_int(const signature *sig, size_t i, const span *v, int64_t *dst) {
    *dst = 0;
    if (v->start == v->end || input[v->start] == 'n') return 1;
    unsigned char c = input[v->start];
    if (c != '-' && (c < '0' || c > '9')) {
        decode_error(sig, i, "int", v, 0);
        return 0;
    }
    size_t k = v->start;
    int neg = input[k] == '-';
    if (neg) k++;
    uint64_t n = 0, limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    for (; k < v->end; k++) {
        unsigned d = (unsigned)(input[k] - '0');
        if (d > 9 || n > (limit - d) / 10) { /* a fraction, an exponent, or out of range */
            decode_error(sig, i, "int", v, 1);
            return 0;
        }
        n = n * 10 + d;
    }
    *dst = neg ? (int64_t)(0 - n) : (int64_t)n;
    return 1;
}

/* ---------------------------------------------------------------------------------------------
 * c_word_count: the words of at least min_len bytes in text (split on Unicode white space, with
 * the characters .,;:!?"'() trimmed from both ends), how many are distinct once lowercased, and
 * the first of the longest.
 */

static buf text, lowered;

/* The set of distinct lowercased words: offsets into `lowered`, open addressing. */
typedef struct {
    size_t off, len;
    uint32_t hash;
    int used;
} slot;

static slot *set;
static size_t set_cap, set_len;

static uint32_t fnv1a(const char *p, size_t n) {
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)p[i]) * 16777619u;
    return h;
}

static void set_reset(void) {
    if (set_cap > 4096) {
        free(set);
        set = NULL;
        set_cap = 0;
    } else if (set) {
        memset(set, 0, set_cap * sizeof *set);
    }
    set_len = 0;
}

static void set_insert_slot(slot *table, size_t cap, slot e) {
    size_t i = e.hash & (cap - 1);
    while (table[i].used) i = (i + 1) & (cap - 1);
    table[i] = e;
}

/* Adds lowered[off:off+len] to the set unless it is there; drops it from `lowered` if it is. */
static void set_add(size_t off, size_t len) {
    if (2 * (set_len + 1) > set_cap) {
        size_t cap = set_cap ? 2 * set_cap : 64;
        slot *t = calloc(cap, sizeof *t);
        if (!t) __builtin_trap();
        for (size_t i = 0; i < set_cap; i++)
            if (set[i].used) set_insert_slot(t, cap, set[i]);
        free(set);
        set = t;
        set_cap = cap;
    }
    uint32_t h = fnv1a(lowered.p + off, len);
    size_t i = h & (set_cap - 1);
    while (set[i].used) {
        if (set[i].hash == h && set[i].len == len && memcmp(lowered.p + set[i].off, lowered.p + off, len) == 0) {
            lowered.len = off;
            return;
        }
        i = (i + 1) & (set_cap - 1);
    }
    set[i] = (slot){off, len, h, 1};
    set_len++;
}

static int is_punct(char c) { return c && strchr(".,;:!?\"'()", c) != NULL; }

static void word_count(void) {
    static const char *const params[] = {"text", "min_len"};
    static const signature sig = {"c_word_count", params, 2};
    span raws[2];
    int64_t min_len;
    if (!bind(&sig, raws) || !decode_string(&sig, 0, &raws[0], &text) || !decode_int(&sig, 1, &raws[1], &min_len)) return;
    if (min_len < 0) {
        msg.len = 0;
        puts_(&msg, "min_len must not be negative");
        fail("permanent", "ValueError");
        return;
    }
    buf_reset(&lowered);
    set_reset();
    size_t words = 0, longest_off = 0, longest_len = 0;
    const unsigned char *t = (const unsigned char *)text.p;
    size_t n = text.len, i = 0;
    while (i < n) {
        size_t w;
        while (i < n && is_space(decode_rune(t + i, n - i, &w))) i += w;
        size_t start = i;
        while (i < n && !is_space(decode_rune(t + i, n - i, &w))) i += w;
        size_t end = i;
        while (start < end && is_punct((char)t[start])) start++;
        while (end > start && is_punct((char)t[end - 1])) end--;
        if (start == end || (uint64_t)(end - start) < (uint64_t)min_len) continue;
        words++;
        size_t off = lowered.len;
        for (size_t k = start; k < end; k += w) put_rune(&lowered, to_lower(decode_rune(t + k, end - k, &w)));
        set_add(off, lowered.len - off);
        if (end - start > longest_len) {
            longest_off = start;
            longest_len = end - start;
        }
    }
    out.len = 0;
    puts_(&out, "{\"result\":{\"words\":");
    put_uint(&out, words);
    puts_(&out, ",\"unique\":");
    put_uint(&out, set_len);
    puts_(&out, ",\"longest\":");
    put_json_string(&out, text.p + longest_off, longest_len);
    puts_(&out, "}}");
    buf_reset(&text);
}

/* c_noop: no arguments, result null. */
static void noop(void) {
    static const signature sig = {"c_noop", NULL, 0};
    if (!bind(&sig, NULL)) return;
    out.len = 0;
    puts_(&out, "{\"result\":null}");
}

/* ---------------------------------------------------------------------------------------------
 * The exports (ABI.md section 2).
 */

static const struct {
    const char *name;
    void (*run)(void);
} tasks[] = {
    {"c_word_count", word_count},
    {"c_noop", noop},
};

static char *in_buf;
static size_t in_cap;

int32_t arqhost_abi_version(void) { return ARQHOST_ABI_VERSION; }

/* The input buffer: reused while it is large enough (and not much too large). */
void *arqhost_alloc(int32_t size) {
    if (size < 0) return 0;
    size_t want = (size_t)size < 4096 ? 4096 : (size_t)size;
    if (in_cap < (size_t)size || (in_cap > SHRINK_ABOVE && (size_t)size < in_cap / 4)) {
        free(in_buf);
        in_buf = malloc(want);
        in_cap = in_buf ? want : 0;
    }
    return in_buf;
}

uint64_t arqhost_manifest(void) {
    static const char manifest[] = "{\"tasks\":[\"c_word_count\",\"c_noop\"],\"sdk\":\"arqhost-c-example/1\"}";
    return arqhost_pack(manifest, sizeof manifest - 1);
}

static void run(const unsigned char *b, size_t n) {
    input = b;
    names.len = 0;
    scanner s = {b, n, 0};
    if (!parse_input(&s)) {
        fail("permanent", "InputError");
        return;
    }
    for (size_t k = 0; k < sizeof tasks / sizeof *tasks; k++) {
        if (key_is(&names, function_off, function_len, tasks[k].name)) {
            tasks[k].run();
            return;
        }
    }
    msg.len = 0;
    puts_(&msg, "this module has no task named ");
    put_go_quoted(&msg, names.p + function_off, function_len);
    fail("permanent", "UnknownTask");
}

uint64_t arqhost_run(const char *ptr, int32_t len) {
    buf_reset(&out);
    buf_reset(&msg);
    size_t n = (size_t)(uint32_t)len;
    if (n == 0) {
        run((const unsigned char *)"", 0);
    } else if (!in_buf || ptr < in_buf || (size_t)(ptr - in_buf) + n > in_cap) {
        static const char m[] = "the job input is not inside the buffer returned by arqhost_alloc";
        write_error("error", "ABIError", m, sizeof m - 1);
    } else {
        run((const unsigned char *)ptr, n);
    }
    buf_reset(&names);
    input = NULL;
    return arqhost_pack(out.p, out.len);
}
