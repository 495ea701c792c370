/* schedopt — command dispatch.  Each command lives in src/cli_<name>.c. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const cli_command *const commands[] = {&cli_simulate, &cli_export, &cli_plot, NULL};

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
  if (argc < 2) {
    help(stderr);
    return CLI_EXIT_INPUT;
  }
  const char *cmd = argv[1];
  if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) {
    help(stdout);
    return 0;
  }
  if (!strcmp(cmd, "-V") || !strcmp(cmd, "--version")) {
    printf("schedopt %s\n", SCHEDOPT_VERSION);
    return 0;
  }
  for (size_t i = 0; commands[i]; i++)
    if (!strcmp(cmd, commands[i]->name)) return commands[i]->run(argc - 2, argv + 2);
  fprintf(stderr, "schedopt: unknown command '%s'\nTry 'schedopt --help'.\n", cmd);
  return CLI_EXIT_INPUT;
}
