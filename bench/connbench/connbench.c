/*
 * kdp-connbench: the new-connection workloads' client and server, small enough to measure what the
 * proxy rules cost a connection's first packet rather than what a runtime costs.
 *
 *   kdp-connbench serve --port P
 *       TCP: accept, read the request (up to 64 bytes), write a 2-byte answer, close (the server
 *       closes first, so the client's ports leave no TIME_WAIT behind). UDP on the same port:
 *       answer every datagram with itself. Runs until killed.
 *   kdp-connbench tcp-crr --host IP --port P --seconds S [--rate R] [--max N] [--timeout-ms T]
 *       one connection at a time: connect, send a 16-byte request, read until the server closes.
 *       --rate 0 is closed loop (the next connection starts when one ends); R > 0 offers R
 *       connections a second on a fixed schedule (a connection that starts late counts as late).
 *   kdp-connbench udp-new-flow --host IP --port P --seconds S [--rate R] [--max N] [--timeout-ms T]
 *       one datagram from a new socket bound to the next source port of 20000-60999, wait for the
 *       answer, close: every flow is a new conntrack entry while the ports have not wrapped.
 *
 * A client run is bounded by --seconds (at most 600) and --max (default 5,000,000) and prints one
 * JSON object on stdout: counts, rates and percentiles in microseconds (bench/workloads/data/
 * connbench.ts parses it). Exit status 0 when it ran (failures are counted, not fatal), 2 on bad
 * arguments, 1 when the system refused something before the first attempt.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define MAX_SECONDS 600
#define DEFAULT_MAX 5000000L
#define UDP_FIRST_PORT 20000
#define UDP_PORTS 41000

static void die_usage(const char *msg) {
  fprintf(stderr, "kdp-connbench: %s\n", msg);
  fprintf(stderr, "usage: kdp-connbench serve --port P\n"
                  "       kdp-connbench tcp-crr|udp-new-flow --host IP --port P --seconds S"
                  " [--rate R] [--max N] [--timeout-ms T]\n");
  exit(2);
}

static double now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static long parse_long(const char *flag, const char *v, long min, long max) {
  char *end;
  errno = 0;
  long n = strtol(v, &end, 10);
  if (errno || *end || end == v || n < min || n > max) {
    fprintf(stderr, "kdp-connbench: %s must be a whole number from %ld to %ld, not \"%s\"\n", flag, min,
            max, v);
    exit(2);
  }
  return n;
}

/* ---- server ---- */

static void *udp_echo(void *arg) {
  int fd = *(int *)arg;
  char buf[2048];
  for (;;) {
    struct sockaddr_in from;
    socklen_t len = sizeof from;
    ssize_t n = recvfrom(fd, buf, sizeof buf, 0, (struct sockaddr *)&from, &len);
    if (n >= 0) sendto(fd, buf, (size_t)n, 0, (struct sockaddr *)&from, len);
  }
  return NULL;
}

static int bound(int type, int port) {
  int fd = socket(AF_INET, type, 0);
  int one = 1;
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  if (fd < 0) return -1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0) return -1;
  return fd;
}

static int serve(int port) {
  int tcp = bound(SOCK_STREAM, port), udp = bound(SOCK_DGRAM, port);
  if (tcp < 0 || udp < 0 || listen(tcp, 4096) < 0) {
    fprintf(stderr, "kdp-connbench: cannot listen on port %d: %s\n", port, strerror(errno));
    return 1;
  }
  pthread_t t;
  if (pthread_create(&t, NULL, udp_echo, &udp) != 0) return 1;
  signal(SIGPIPE, SIG_IGN);
  char buf[64];
  for (;;) {
    int c = accept(tcp, NULL, NULL);
    if (c < 0) continue;
    struct timeval tv = {.tv_sec = 1};
    setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (read(c, buf, sizeof buf) > 0) (void)!write(c, "ok", 2);
    close(c);
  }
}

/* ---- client ---- */

struct samples {
  double *v;
  long n, cap;
};

static void push(struct samples *s, double x) {
  if (s->n == s->cap) {
    s->cap = s->cap ? s->cap * 2 : 65536;
    s->v = realloc(s->v, (size_t)s->cap * sizeof *s->v);
    if (!s->v) {
      fprintf(stderr, "kdp-connbench: out of memory\n");
      exit(1);
    }
  }
  s->v[s->n++] = x;
}

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of sorted samples; 0 when there are none. */
static double pct(const struct samples *s, double p) {
  if (s->n == 0) return 0;
  long i = (long)(p / 100.0 * (double)s->n + 0.999999) - 1;
  if (i < 0) i = 0;
  if (i >= s->n) i = s->n - 1;
  return s->v[i];
}

struct opts {
  struct sockaddr_in dst;
  double seconds, rate;
  long max, timeout_ms;
};

static void set_timeouts(int fd, long ms) {
  struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

/* One TCP transaction; 0 on success with *connect_us set. */
static int crr_once(const struct opts *o, double *connect_us) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  set_timeouts(fd, o->timeout_ms);
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  double t0 = now_us();
  if (connect(fd, (const struct sockaddr *)&o->dst, sizeof o->dst) < 0) {
    close(fd);
    return -1;
  }
  *connect_us = now_us() - t0;
  char buf[64];
  int ok = write(fd, "GET / HTTP/1.0\r\n", 16) == 16;
  long got = 0;
  ssize_t n;
  while (ok && (n = read(fd, buf, sizeof buf)) > 0) got += n;
  if (ok && n < 0) ok = 0;
  close(fd);
  return ok && got > 0 ? 0 : -1;
}

static int udp_port_next = 0;

/* One UDP flow from a new source port; 0 on success. */
static int udp_once(const struct opts *o, double *unused) {
  (void)unused;
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  if (fd < 0) return -1;
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in src = {.sin_family = AF_INET};
  int bound_ok = 0;
  for (int tries = 0; tries < 16 && !bound_ok; tries++) {
    src.sin_port = htons((uint16_t)(UDP_FIRST_PORT + udp_port_next));
    udp_port_next = (udp_port_next + 1) % UDP_PORTS;
    bound_ok = bind(fd, (struct sockaddr *)&src, sizeof src) == 0;
  }
  set_timeouts(fd, o->timeout_ms);
  char buf[64];
  int ok = bound_ok && connect(fd, (const struct sockaddr *)&o->dst, sizeof o->dst) == 0 &&
           send(fd, "kdp-connbench-udp", 17, 0) == 17 && recv(fd, buf, sizeof buf, 0) > 0;
  close(fd);
  return ok ? 0 : -1;
}

static int client(const char *workload, const struct opts *o) {
  int tcp = strcmp(workload, "tcp-crr") == 0;
  int (*once)(const struct opts *, double *) = tcp ? crr_once : udp_once;
  struct samples connect_s = {0}, txn = {0};
  long failures = 0, late = 0, attempts = 0;
  double start = now_us(), end = start + o->seconds * 1e6;
  double interval = o->rate > 0 ? 1e6 / o->rate : 0;
  signal(SIGPIPE, SIG_IGN);
  for (;;) {
    double t = now_us();
    if (t >= end || attempts >= o->max) break;
    if (interval > 0) {
      double due = start + (double)attempts * interval;
      if (due >= end) break;
      if (t < due) {
        double wait = due - t;
        struct timespec ts = {.tv_sec = (time_t)(wait / 1e6), .tv_nsec = (long)((long)wait % 1000000) * 1000};
        nanosleep(&ts, NULL);
        t = now_us();
      } else if (t - due > 1000) {
        late++;
      }
    }
    attempts++;
    double c = 0;
    if (once(o, &c) == 0) {
      double done = now_us();
      push(&txn, done - t);
      if (tcp) push(&connect_s, c);
    } else {
      failures++;
    }
  }
  double elapsed = (now_us() - start) / 1e6;
  qsort(connect_s.v, (size_t)connect_s.n, sizeof(double), cmp);
  qsort(txn.v, (size_t)txn.n, sizeof(double), cmp);
  printf("{\"tool\":\"kdp-connbench\",\"workload\":\"%s\",\"seconds\":%.6f,\"offered_rate\":%.3f,"
         "\"attempts\":%ld,\"completed\":%ld,\"failures\":%ld,\"late\":%ld,\"rate\":%.3f,"
         "\"connect_p50_us\":%.3f,\"connect_p99_us\":%.3f,\"txn_p50_us\":%.3f,\"txn_p99_us\":%.3f}\n",
         workload, elapsed, o->rate, attempts, txn.n, failures, late, elapsed > 0 ? txn.n / elapsed : 0,
         pct(&connect_s, 50), pct(&connect_s, 99), pct(&txn, 50), pct(&txn, 99));
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 2) die_usage("no command");
  const char *cmd = argv[1];
  const char *host = NULL;
  long port = -1, seconds = -1, rate = 0, max = DEFAULT_MAX, timeout_ms = 1000;
  for (int i = 2; i < argc; i += 2) {
    if (i + 1 >= argc) die_usage("a flag has no value");
    const char *f = argv[i], *v = argv[i + 1];
    if (!strcmp(f, "--host")) host = v;
    else if (!strcmp(f, "--port")) port = parse_long(f, v, 1, 65535);
    else if (!strcmp(f, "--seconds")) seconds = parse_long(f, v, 1, MAX_SECONDS);
    else if (!strcmp(f, "--rate")) rate = parse_long(f, v, 0, 1000000);
    else if (!strcmp(f, "--max")) max = parse_long(f, v, 1, DEFAULT_MAX);
    else if (!strcmp(f, "--timeout-ms")) timeout_ms = parse_long(f, v, 1, 10000);
    else die_usage("unknown flag");
  }
  if (port < 0) die_usage("--port is required");
  if (!strcmp(cmd, "serve")) return serve((int)port);
  if (strcmp(cmd, "tcp-crr") && strcmp(cmd, "udp-new-flow")) die_usage("unknown command");
  if (!host || seconds < 0) die_usage("--host and --seconds are required");
  struct opts o = {.seconds = (double)seconds, .rate = (double)rate, .max = max, .timeout_ms = timeout_ms};
  o.dst.sin_family = AF_INET;
  o.dst.sin_port = htons((uint16_t)port);
  if (inet_pton(AF_INET, host, &o.dst.sin_addr) != 1) die_usage("--host must be an IPv4 address");
  return client(cmd, &o);
}
