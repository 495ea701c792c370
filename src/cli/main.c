/* schedopt — command dispatch.  Each command lives in src/cli_<name>.c. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "problem/schema.h" /* "did you mean" */
#include "core/outfile.h"

/* Signals whose default action ends the process (SIGINT, SIGTERM, SIGHUP,
 * SIGQUIT, SIGUSR1, SIGUSR2, SIGALRM, SIGXCPU, SIGVTALRM, SIGPROF, SIGTRAP,
 * SIGSYS, SIGIO/SIGPOLL, SIGPWR and SIGSTKFLT where they exist, and every
 * real-time signal SIGRTMIN..SIGRTMAX): remove the temporary files of
 * outputs being written (outfile.c keeps their names), then die of the same
 * signal so the caller sees the usual status (130 after Ctrl-C in a shell; a
 * core where the default makes one).  Only async-signal-safe calls: unlink()
 * inside, raise() here (the signal stays blocked until the handler returns,
 * and SA_RESETHAND restored the default).  A signal the parent ignores stays
 * ignored.  SIGKILL and SIGSTOP cannot be caught; SIGPIPE and SIGXFSZ are
 * ignored (below); the hardware faults (SIGSEGV, SIGBUS, SIGFPE, SIGILL,
 * SIGABRT) are bugs and keep their default. */
static const int fatal_sigs[] = {SIGINT,  SIGTERM, SIGHUP,  SIGQUIT,   SIGUSR1, SIGUSR2,
                                 SIGALRM, SIGXCPU, SIGVTALRM, SIGPROF, SIGTRAP, SIGSYS,
#if defined(SIGPOLL)
                                 SIGPOLL,
#elif defined(SIGIO)
                                 SIGIO,
#endif
#ifdef SIGPWR
                                 SIGPWR,
#endif
#ifdef SIGSTKFLT
                                 SIGSTKFLT,
#endif
};
#define NFATAL (sizeof fatal_sigs / sizeof fatal_sigs[0])

static void on_signal(int sig) {
  schedopt_outfile_unlink_pending();
  raise(sig);
}

static void catch_fatal(int sig, const sigset_t *all) {
  struct sigaction sa, old;
  if (sigaction(sig, NULL, &old) != 0 || old.sa_handler == SIG_IGN)
    return; /* ignored by the parent (nohup, background jobs): keep it so */
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sa.sa_mask = *all;
  sa.sa_flags = SA_RESETHAND;
  sigaction(sig, &sa, NULL);
}

static void install_signal_handlers(void) {
  sigset_t all; /* one handler at a time */
  sigemptyset(&all);
  for (size_t i = 0; i < NFATAL; i++) sigaddset(&all, fatal_sigs[i]);
#ifdef SIGRTMIN
  for (int s = SIGRTMIN; s <= SIGRTMAX; s++) sigaddset(&all, s);
#endif
  for (size_t i = 0; i < NFATAL; i++) catch_fatal(fatal_sigs[i], &all);
#ifdef SIGRTMIN
  for (int s = SIGRTMIN; s <= SIGRTMAX; s++) catch_fatal(s, &all);
#endif
  /* SIGXFSZ (a file over `ulimit -f`) and SIGPIPE (stdout or a FIFO whose
   * reader is gone: `schedopt ... -o - | head`) would kill us silently and
   * leave the temporary files; ignored, the write fails with EFBIG or EPIPE
   * and outfile.c says "cannot write 'x.csv': File too large" or "cannot
   * write to standard output: Broken pipe" and removes the temporaries. */
  signal(SIGXFSZ, SIG_IGN);
  signal(SIGPIPE, SIG_IGN);
}

/* A descriptor 0, 1 or 2 closed by the caller (`>&-`) would be taken by the
 * first file we open: a temporary file would become stdout, and `-o -`
 * would write the table into an export.  Each closed one gets /dev/null,
 * read-only: writing to it still fails as on a closed descriptor (EBADF),
 * and outfile.c refuses `-o -` at once ("standard output is closed"). */
static void take_closed_std_fds(void) {
  for (int fd = 0; fd <= 2; fd++) {
    if (fcntl(fd, F_GETFD) != -1 || errno != EBADF) continue;
    int nfd = open("/dev/null", O_RDONLY | O_NOCTTY);
    if (nfd < 0) nfd = open("/", O_RDONLY); /* no /dev/null (a bare chroot) */
    if (nfd >= 0 && nfd != fd) {
      dup2(nfd, fd);
      close(nfd);
    }
  }
}

/* What is still buffered for stdout (help, a table written to "-") is
 * flushed and checked here, not by exit(), which would drop the error:
 * `schedopt ... > /dev/full` must not succeed.  A run that already failed
 * has said why; one message is enough. */
static int finish_stdout(int rc) {
  errno = 0;
  if (fflush(stdout) == 0 && !ferror(stdout)) return rc;
  int e = errno ? errno : EIO;
  if (rc) return rc;
  fprintf(stderr, "schedopt: error: cannot write to standard output: %s\n", strerror(e));
  return cli_exit_code(SCHEDOPT_EIO);
}

extern const cli_command cli_fit, cli_predict, cli_design; /* cli_fit.c, cli_predict.c, cli_design.c */
static const cli_command *const commands[] = {&cli_simulate, &cli_optimize, &cli_export, &cli_plot, &cli_fit, &cli_predict, &cli_design, &cli_sweep, &cli_merge, NULL};

static void help(FILE *f) {
  fputs("Usage: schedopt <command> [options]\n"
        "\n"
        "Design training schedules (learning rate, batch size, momentum) from the\n"
        "theory of SGD on power-law random-feature models.\n"
        "\n"
        "Commands:\n",
        f);
  for (size_t i = 0; commands[i]; i++)
    fprintf(f, "  %-10s %s\n", commands[i]->name, commands[i]->summary);
  fputs("\n"
        "Options:\n"
        "  -h, --help      this help; 'schedopt <command> --help' for a command\n"
        "  -V, --version   print the version\n"
        "\n"
        "Exit status: 0 success, 2 bad input, 1 a run that failed.\n",
        f);
}

int main(int argc, char **argv) {
  take_closed_std_fds();
  if (argc < 2) {
    help(stderr);
    return CLI_EXIT_INPUT;
  }
  const char *cmd = argv[1];
  if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || (!strcmp(cmd, "help") && argc == 2)) {
    help(stdout);
    return finish_stdout(0);
  }
  int nargs = argc - 2;
  char **args = argv + 2;
  char help_flag[] = "--help";
  char *help_only[2] = {help_flag, NULL};
  if (!strcmp(cmd, "help")) { /* schedopt help CMD = schedopt CMD --help */
    if (argc > 3) {
      fprintf(stderr, "schedopt help: one command at a time\nTry 'schedopt --help'.\n");
      return CLI_EXIT_INPUT;
    }
    cmd = argv[2];
    nargs = 1;
    args = help_only;
    if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) {
      help(stdout);
      return finish_stdout(0);
    }
  }
  if (!strcmp(cmd, "-V") || !strcmp(cmd, "--version")) {
    printf("schedopt %s\n", SCHEDOPT_VERSION);
    return finish_stdout(0);
  }
  install_signal_handlers();
  for (size_t i = 0; commands[i]; i++)
    if (!strcmp(cmd, commands[i]->name))
      return finish_stdout(commands[i]->run(nargs, args));
  suggest g = {cmd, NULL, 0};
  char sg[128];
  for (size_t i = 0; commands[i]; i++) schedopt_suggest_add(&g, commands[i]->name);
  fprintf(stderr, "schedopt: unknown command '%s'%s\nTry 'schedopt --help'.\n", cmd,
          schedopt_suggest_text(&g, sg, sizeof sg));
  return CLI_EXIT_INPUT;
}
