/*
 * Tokens and peers (see access.h).
 */
#include "access.h"

#include "hlc.h"
#include "node.h"
#include "proto/mp.h"
#include "proto/op.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <msgpack.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const roles[] = {"", "sync", "write", "read", "donor"};

int rl_role_parse(const char *s)
{
    for (int i = 1; i < 5; i++)
        if (!strcmp(s, roles[i]))
            return i;
    return 0;
}

const char *rl_role_name(int role)
{
    return role > 0 && role < 5 ? roles[role] : "none";
}

static void token_key(const char *token, size_t n, uint8_t out[32])
{
    crypto_generichash(out, 32, (const uint8_t *)token, n, NULL, 0);
}

struct add_arg {
    int role;
    const char *name;
    uint8_t key[32];
};

static int add_fn(struct rl_txn *t, void *arg, struct proto_err *e)
{
    struct add_arg *a = arg;
    size_t nl = a->name ? strlen(a->name) : 0;
    uint8_t v[9 + 256];
    if (nl > 256)
        return proto_errf(e, -EINVAL, "token name longer than 256 bytes");
    v[0] = (uint8_t)a->role;
    proto_put_be64(v + 1, rl_now_ms());
    if (nl)
        memcpy(v + 9, a->name, nl);
    int rc = rl_put(t, RL_DB_TOKENS, a->key, 32, v, 9 + nl);
    return rc ? proto_errf(e, rc, "cannot store the token: %s", proto_strerror(rc)) : 0;
}

int rl_token_add(struct rl_store *s, int role, const char *name, char token[RL_TOKEN_CHARS + 1],
                 char id[17], struct proto_err *e)
{
    uint8_t raw[32];
    struct add_arg a = {role, name, {0}};
    if (role <= 0 || role > 4)
        return proto_errf(e, PROTO_EUSAGE, "role must be sync, write, read or donor");
    randombytes_buf(raw, sizeof raw);
    memcpy(token, "rlt_", 4);
    sodium_bin2base64(token + 4, RL_TOKEN_CHARS + 1 - 4, raw, sizeof raw,
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    sodium_memzero(raw, sizeof raw);
    token_key(token, strlen(token), a.key);
    rl_hex(a.key, 8, id);
    return rl_store_write(s, add_fn, &a, e);
}

int rl_token_role(struct rl_txn *t, const char *token, size_t n)
{
    uint8_t key[32];
    MDB_val v;
    if (n < 8 || n > 256)
        return RL_ROLE_NONE;
    token_key(token, n, key);
    /* the lookup is by hash: the token itself is never compared byte by byte */
    if (rl_get(t, RL_DB_TOKENS, key, 32, &v) || v.mv_size < 9)
        return RL_ROLE_NONE;
    int role = ((const uint8_t *)v.mv_data)[0];
    return role > 0 && role < 5 ? role : RL_ROLE_NONE;
}

struct revoke_arg {
    const char *prefix;
};

static int revoke_fn(struct rl_txn *t, void *arg, struct proto_err *e)
{
    struct revoke_arg *a = arg;
    struct rl_cursor c;
    MDB_val k, v;
    uint8_t found[32];
    int n = 0, rc;
    if ((rc = rl_cursor_open(t, RL_DB_TOKENS, &c)))
        return proto_errf(e, rc, "cannot read tokens");
    for (rc = rl_cursor_first(&c, &k, &v); rc == 0; rc = rl_cursor_next(&c, &k, &v)) {
        char hex[17];
        if (k.mv_size != 32)
            continue;
        rl_hex(k.mv_data, 8, hex);
        if (!strncmp(hex, a->prefix, strlen(a->prefix))) {
            memcpy(found, k.mv_data, 32);
            n++;
        }
    }
    rl_cursor_close(&c);
    if (n == 0)
        return proto_errf(e, -ENOENT, "no token '%s'", a->prefix);
    if (n > 1)
        return proto_errf(e, -EINVAL, "token id '%s' is ambiguous", a->prefix);
    rc = rl_del(t, RL_DB_TOKENS, found, 32);
    return rc ? proto_errf(e, rc, "cannot revoke: %s", proto_strerror(rc)) : 0;
}

int rl_token_revoke(struct rl_store *s, const char *prefix, struct proto_err *e)
{
    struct revoke_arg a = {prefix};
    size_t n = strlen(prefix);
    if (n < 4 || n > 16 || strspn(prefix, "0123456789abcdef") != n)
        return proto_errf(e, -EINVAL, "token id '%.40s' is not 4 to 16 hex digits", prefix);
    return rl_store_write(s, revoke_fn, &a, e);
}

json_t *rl_token_list(struct rl_txn *t)
{
    struct rl_cursor c;
    MDB_val k, v;
    json_t *arr = json_array();
    int rc;
    if (rl_cursor_open(t, RL_DB_TOKENS, &c))
        return arr;
    for (rc = rl_cursor_first(&c, &k, &v); rc == 0; rc = rl_cursor_next(&c, &k, &v)) {
        char hex[17], when[40];
        const uint8_t *p = v.mv_data;
        if (k.mv_size != 32 || v.mv_size < 9)
            continue;
        rl_hex(k.mv_data, 8, hex);
        rl_hlc_format(proto_get_be64(p + 1) << 16, when, sizeof when);
        json_t *name = json_stringn((const char *)p + 9, v.mv_size - 9);
        json_array_append_new(arr, json_pack("{s:s, s:s, s:o, s:s}", "id", hex, "role",
                                             rl_role_name(p[0]), "name",
                                             name ? name : json_string(""), "created", when));
    }
    rl_cursor_close(&c);
    return arr;
}

uint64_t rl_token_count(struct rl_txn *t)
{
    uint64_t n = 0;
    rl_count(t, RL_DB_TOKENS, &n);
    return n;
}

/* --- peers --- */

/* peers/HASH.EXT: the file of url's token (ext "token") or certificates ("pem") */
static void peer_path(struct rl_store *s, const char *url, const char *ext, char *out, size_t n)
{
    uint8_t h[8];
    char hex[17];
    crypto_generichash(h, sizeof h, (const uint8_t *)url, strlen(url), NULL, 0);
    rl_hex(h, sizeof h, hex);
    snprintf(out, n, "%s/peers/%s.%s", s->dir, hex, ext);
}

static void peer_file(struct rl_store *s, const char *url, char *out, size_t n)
{
    peer_path(s, url, "token", out, n);
}

#define CACERT_MAX (1u << 20)

/* The PEM file at path, read whole into *out (malloc'd, NUL-terminated). */
static int cacert_read(const char *path, char **out, size_t *len, struct proto_err *e)
{
    struct stat st;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    *out = NULL;
    if (fd < 0)
        return proto_errf(e, -errno, "--cacert: cannot read '%.200s': %s", path, strerror(errno));
    if (fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_size > CACERT_MAX) {
        close(fd);
        return proto_errf(e, -EINVAL, "--cacert: '%.200s' is not a file of at most 1 MiB", path);
    }
    char *b = malloc((size_t)st.st_size + 1);
    ssize_t r = b ? read(fd, b, (size_t)st.st_size) : -1;
    close(fd);
    if (r != st.st_size) {
        free(b);
        return proto_errf(e, -EIO, "--cacert: cannot read '%.200s'", path);
    }
    b[r] = '\0';
    if (!strstr(b, "-----BEGIN CERTIFICATE-----")) {
        free(b);
        return proto_errf(e, -EINVAL, "--cacert: '%.200s' holds no PEM certificate", path);
    }
    *out = b;
    *len = (size_t)r;
    return 0;
}

/* Write n bytes to path (mode 600), durably. */
static int write_private(const char *path, const char *data, size_t n, struct proto_err *e)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return proto_errf(e, -errno, "cannot write '%s': %s", path, strerror(errno));
    fchmod(fd, 0600);
    int bad = write(fd, data, n) != (ssize_t)n || fsync(fd);
    close(fd);
    return bad ? proto_errf(e, -EIO, "cannot write '%s'", path) : 0;
}

int rl_token_read_file(const char *path, char *out, size_t n, struct proto_err *e)
{
    struct stat st;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return proto_errf(e, -errno, "cannot read token file '%s': %s", path, strerror(errno));
    if (fstat(fd, &st) == 0 && (st.st_mode & 077)) {
        close(fd);
        return proto_errf(e, -EACCES,
                          "token file '%s' may be read by others: chmod 600 '%s' first", path,
                          path);
    }
    ssize_t r = read(fd, out, n - 1);
    close(fd);
    if (r < 0)
        return proto_errf(e, -EIO, "cannot read token file '%s'", path);
    out[r] = '\0';
    out[strcspn(out, "\r\n")] = '\0';
    if (!out[0])
        return proto_errf(e, -EINVAL, "token file '%s' is empty", path);
    return 0;
}

struct peer_arg {
    const char *url;
    int rc;
    const char *err;
    uint64_t lacks;
    int add;
};

static int peer_fn(struct rl_txn *t, void *arg, struct proto_err *e)
{
    struct peer_arg *a = arg;
    MDB_val old;
    struct proto_buf b;
    msgpack_packer pk;
    uint64_t ok_ms = 0, err_ms = 0, lacks = 0;
    char errbuf[300] = "";
    int rc = rl_get(t, RL_DB_PEERS, a->url, strlen(a->url), &old);
    if (rc == 0) {
        /* [last ok ms, last error ms, last error, lacks] */
        struct proto_mp m;
        uint32_t n, sl;
        const char *sp;
        proto_mp_init(&m, old.mv_data, old.mv_size);
        if (!proto_mp_array(&m, &n) && n >= 4 && !proto_mp_uint(&m, &ok_ms) &&
            !proto_mp_uint(&m, &err_ms) && !proto_mp_str(&m, &sp, &sl, 299)) {
            memcpy(errbuf, sp, sl);
            errbuf[sl] = '\0';
            proto_mp_uint(&m, &lacks);
        }
    } else if (rc != -ENOENT) {
        return proto_errf(e, rc, "cannot read peers");
    } else if (!a->add) {
        return 0; /* a peer given on the command line only: nothing to remember */
    }
    if (!a->add) {
        if (a->rc == 0) {
            ok_ms = rl_now_ms();
            lacks = a->lacks;
        } else {
            err_ms = rl_now_ms();
            snprintf(errbuf, sizeof errbuf, "%s", a->err ? a->err : "failed");
        }
    }
    proto_buf_init(&b, 4096);
    msgpack_packer_init(&pk, &b, proto_buf_msgpack_write);
    msgpack_pack_array(&pk, 4);
    msgpack_pack_uint64(&pk, ok_ms);
    msgpack_pack_uint64(&pk, err_ms);
    msgpack_pack_str_with_body(&pk, errbuf, strlen(errbuf));
    msgpack_pack_uint64(&pk, lacks);
    rc = proto_buf_failed(&b) ? -ENOMEM : rl_put(t, RL_DB_PEERS, a->url, strlen(a->url), b.data, b.len);
    proto_buf_free(&b);
    return rc ? proto_errf(e, rc, "cannot store the peer") : 0;
}

int rl_peer_copy(struct rl_store *s, const char *dir, struct proto_err *e)
{
    char from[4300], to[4300];
    snprintf(from, sizeof from, "%s/peers", s->dir);
    DIR *d = opendir(from);
    if (!d)
        return errno == ENOENT ? 0 : proto_errf(e, -errno, "cannot read '%s'", from);
    snprintf(to, sizeof to, "%s/peers", dir);
    int rc = 0;
    if (mkdir(to, 0700) && errno != EEXIST)
        rc = proto_errf(e, -errno, "cannot create '%s': %s", to, strerror(errno));
    struct dirent *de;
    while (!rc && (de = readdir(d))) {
        char src[4600], dst[4600];
        if (de->d_name[0] == '.')
            continue;
        snprintf(src, sizeof src, "%s/%s", from, de->d_name);
        snprintf(dst, sizeof dst, "%s/%s", to, de->d_name);
        char *b = NULL;
        size_t n = 0;
        FILE *f = fopen(src, "rb");
        if (f) {
            b = malloc(CACERT_MAX + 1);
            n = b ? fread(b, 1, CACERT_MAX + 1, f) : 0;
            fclose(f);
        }
        if (!b || n > CACERT_MAX)
            rc = proto_errf(e, -EIO, "cannot copy '%s'", src);
        else
            rc = write_private(dst, b, n, e);
        free(b);
    }
    closedir(d);
    return rc;
}

int rl_cacert_check(const char *path, struct proto_err *e)
{
    char *b;
    size_t n;
    int rc = cacert_read(path, &b, &n, e);
    free(b);
    return rc;
}

void rl_peer_cacert(struct rl_store *s, const char *url, char *out, size_t n)
{
    peer_path(s, url, "pem", out, n);
    if (access(out, R_OK))
        out[0] = '\0';
}

int rl_peer_url(const char *in, char *out, size_t n, struct proto_err *e)
{
    size_t len = strlen(in), skip = !strncmp(in, "http://", 7)    ? 7
                                    : !strncmp(in, "https://", 8) ? 8
                                                                  : 0;
    if (!skip)
        return proto_errf(e, -EINVAL, "peer '%.100s' is not an http:// or https:// URL", in);
    if (len > RL_PEER_URL_MAX)
        return proto_errf(e, -EINVAL, "peer URL longer than %d bytes", RL_PEER_URL_MAX);
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)in[i] <= ' ' || in[i] == 0x7f)
            return proto_errf(e, -EINVAL, "peer '%.100s' has a space or a control character", in);
    /* host: a name, an IPv4 address or [an IPv6 one]; then :port (1 to 65535) */
    const char *h = in + skip, *p = h;
    if (*p == '[') {
        p = strchr(p, ']');
        p = p ? p + 1 : h;
    } else {
        p += strcspn(p, ":/?#");
    }
    if (p == h || (*h == '[' && p - h < 3))
        return proto_errf(e, -EINVAL, "peer '%.100s' names no host", in);
    if (*p == ':') {
        size_t d = strspn(p + 1, "0123456789");
        long port = d && d <= 5 ? strtol(p + 1, NULL, 10) : 0;
        if (port < 1 || port > 65535 || (p[1 + d] && p[1 + d] != '/'))
            return proto_errf(e, -EINVAL, "peer '%.100s': the port must be 1 to 65535", in);
    } else if (*p && *p != '/') {
        return proto_errf(e, -EINVAL, "peer '%.100s' is not a URL like http://10.0.0.2:8080", in);
    }
    if (len >= n)
        return proto_errf(e, -EINVAL, "peer URL too long");
    /* one peer, one name: "http://h:8080/" is "http://h:8080" */
    while (len > skip && in[len - 1] == '/')
        len--;
    memcpy(out, in, len);
    out[len] = '\0';
    return 0;
}

int rl_peer_add(struct rl_store *s, const char *given, const char *token, const char *cacert,
                struct proto_err *e)
{
    char path[4300], dir[4200], line[600], url[RL_PEER_URL_MAX + 1];
    struct peer_arg a = {url, 0, NULL, 0, 1};
    char *pem = NULL;
    size_t pem_len = 0;
    int rc = rl_peer_url(given, url, sizeof url, e);
    if (rc)
        return rc;
    if (cacert && strncmp(url, "https://", 8))
        return proto_errf(e, -EINVAL, "--cacert is for an https:// peer, not '%.100s'", url);
    if (cacert && (rc = cacert_read(cacert, &pem, &pem_len, e)))
        return rc;
    if (token || cacert) {
        snprintf(dir, sizeof dir, "%s/peers", s->dir);
        if (mkdir(dir, 0700) && errno != EEXIST)
            rc = proto_errf(e, -errno, "cannot create '%s': %s", dir, strerror(errno));
    }
    if (!rc && token && strlen(token) < sizeof line - 1) {
        peer_file(s, url, path, sizeof path);
        snprintf(line, sizeof line, "%s\n", token);
        rc = write_private(path, line, strlen(line), e);
    }
    if (!rc && pem) {
        peer_path(s, url, "pem", path, sizeof path);
        rc = write_private(path, pem, pem_len, e);
    }
    free(pem);
    return rc ? rc : rl_store_write(s, peer_fn, &a, e);
}

static int unpeer_fn(struct rl_txn *t, void *arg, struct proto_err *e)
{
    const char *url = arg;
    int rc = rl_del(t, RL_DB_PEERS, url, strlen(url));
    if (rc == -ENOENT)
        return proto_errf(e, rc, "no peer '%.200s' (relief peer list shows them)", url);
    return rc ? proto_errf(e, rc, "cannot remove the peer: %s", proto_strerror(rc)) : 0;
}

int rl_peer_remove(struct rl_store *s, const char *given, struct proto_err *e)
{
    char url[RL_PEER_URL_MAX + 1], path[4300];
    int rc = rl_peer_url(given, url, sizeof url, e);
    if (rc || (rc = rl_store_write(s, unpeer_fn, url, e)))
        return rc;
    /* its token and certificate go too: nothing of it is left to present to anyone */
    peer_file(s, url, path, sizeof path);
    unlink(path);
    peer_path(s, url, "pem", path, sizeof path);
    unlink(path);
    return 0;
}

int rl_peer_token(struct rl_store *s, const char *url, char *out, size_t n)
{
    char path[4300];
    struct proto_err e;
    peer_file(s, url, path, sizeof path);
    out[0] = '\0';
    if (access(path, F_OK))
        return 0;
    return rl_token_read_file(path, out, n, &e);
}

int rl_peer_report(struct rl_store *s, const char *url, int rc, const char *err,
                   uint64_t lacks, struct proto_err *e)
{
    struct peer_arg a = {url, rc, err, lacks, 0};
    return rl_store_write(s, peer_fn, &a, e);
}

int rl_peer_report_in(struct rl_txn *t, const char *url, int rc, const char *err, uint64_t lacks,
                      struct proto_err *e)
{
    struct peer_arg a = {url, rc, err, lacks, 0};
    return peer_fn(t, &a, e);
}

json_t *rl_peer_list(struct rl_txn *t)
{
    struct rl_cursor c;
    MDB_val k, v;
    json_t *arr = json_array();
    int rc;
    if (rl_cursor_open(t, RL_DB_PEERS, &c))
        return arr;
    for (rc = rl_cursor_first(&c, &k, &v); rc == 0; rc = rl_cursor_next(&c, &k, &v)) {
        struct proto_mp m;
        uint32_t n, sl = 0;
        uint64_t ok = 0, er = 0, lacks = 0;
        const char *sp = "";
        proto_mp_init(&m, v.mv_data, v.mv_size);
        if (proto_mp_array(&m, &n) || n < 4 || proto_mp_uint(&m, &ok) || proto_mp_uint(&m, &er) ||
            proto_mp_str(&m, &sp, &sl, 299) || proto_mp_uint(&m, &lacks))
            continue;
        char oks[40] = "", ers[40] = "";
        if (ok)
            rl_hlc_format(ok << 16, oks, sizeof oks);
        if (er)
            rl_hlc_format(er << 16, ers, sizeof ers);
        json_t *url = json_stringn(k.mv_data, k.mv_size);
        json_t *msg = json_stringn(sp, sl);
        json_array_append_new(arr, json_pack("{s:o, s:s, s:s, s:o, s:I}", "url",
                                             url ? url : json_string("?"), "last_success", oks,
                                             "last_error_at", ers, "last_error",
                                             msg ? msg : json_string(""), "lacks",
                                             (json_int_t)lacks));
    }
    rl_cursor_close(&c);
    return arr;
}
