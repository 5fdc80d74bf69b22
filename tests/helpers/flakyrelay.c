/*
 * Test helper: a TCP relay on 127.0.0.1 that cuts every connection after a few kilobytes, to
 * show that a sync over a link that keeps breaking still completes.
 *   flakyrelay LISTEN_PORT TARGET_PORT CUT_BYTES
 * Prints "relay ready on PORT" once listening (LISTEN_PORT 0: a port the system picks). Each connection is cut after CUT_BYTES plus up to half
 * as many again (pseudo-random), counted in both directions.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAXC 64

struct pair {
    int a, b;
    long left;
};

static int listen_on(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    struct sockaddr_in sa = {0};
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) || listen(fd, 64)) {
        perror("flakyrelay: listen");
        exit(1);
    }
    return fd;
}

static int connect_to(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {0};
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa)) {
        close(fd);
        return -1;
    }
    return fd;
}

int main(int argc, char **argv)
{
    struct pair p[MAXC];
    int n = 0;
    unsigned seed = 12345;
    if (argc != 4) {
        fprintf(stderr, "usage: flakyrelay LISTEN_PORT TARGET_PORT CUT_BYTES\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    int lfd = listen_on(atoi(argv[1]));
    int target = atoi(argv[2]);
    long cut = atol(argv[3]);
    struct sockaddr_in sa;
    socklen_t salen = sizeof sa;
    if (getsockname(lfd, (struct sockaddr *)&sa, &salen)) {
        perror("flakyrelay: getsockname");
        return 1;
    }
    printf("relay ready on %d\n", ntohs(sa.sin_port));
    fflush(stdout);
    for (;;) {
        struct pollfd fds[1 + 2 * MAXC];
        fds[0].fd = lfd;
        fds[0].events = POLLIN;
        for (int i = 0; i < n; i++) {
            fds[1 + 2 * i].fd = p[i].a;
            fds[1 + 2 * i].events = POLLIN;
            fds[2 + 2 * i].fd = p[i].b;
            fds[2 + 2 * i].events = POLLIN;
        }
        int polled = n; /* pairs accepted below were not in this poll */
        if (poll(fds, (nfds_t)(1 + 2 * n), -1) < 0 && errno != EINTR)
            return 1;
        if (fds[0].revents & POLLIN) {
            int c = accept(lfd, NULL, NULL);
            int u = c >= 0 ? connect_to(target) : -1;
            if (c >= 0 && u >= 0 && n < MAXC) {
                seed = seed * 1103515245u + 12345u;
                p[n].a = c;
                p[n].b = u;
                p[n].left = cut + (long)(seed % (unsigned)(cut / 2 + 1));
                n++;
            } else {
                if (c >= 0)
                    close(c);
                if (u >= 0)
                    close(u);
            }
        }
        for (int i = polled - 1; i >= 0; i--) {
            int dead = 0;
            for (int side = 0; side < 2 && !dead; side++) {
                struct pollfd *f = &fds[1 + 2 * i + side];
                if (!(f->revents & (POLLIN | POLLHUP | POLLERR)))
                    continue;
                char buf[4096];
                long want = p[i].left < (long)sizeof buf ? p[i].left : (long)sizeof buf;
                ssize_t r = want > 0 ? read(f->fd, buf, (size_t)want) : 0;
                if (r <= 0) {
                    dead = 1;
                    break;
                }
                int to = side == 0 ? p[i].b : p[i].a;
                if (write(to, buf, (size_t)r) != r)
                    dead = 1;
                p[i].left -= r;
                if (p[i].left <= 0)
                    dead = 1; /* the link breaks */
            }
            if (dead) {
                close(p[i].a);
                close(p[i].b);
                p[i] = p[--n];
            }
        }
    }
}
