/* main.c - bmcctl: the command line, configuration and credentials; the
 * work is run.c's. See bmcctl(1). */
#include "autoconfig.h"

#include "cliconf.h"
#include "commands.h"
#include "prompt.h"
#include "run.h"
#include "targets.h"

#include <curl/curl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SECRET_MAX  257 /* the service takes passwords of up to 256 bytes */
#define DEFAULT_URL "http://127.0.0.1:8000"

enum {
    O_URL = 256,
    O_TOKEN,
    O_CREDENTIAL,
    O_PROTOCOL,
    O_PORT,
    O_CIPHER,
    O_CONFIG,
    O_JSON,
    O_NO_BULK,
    O_RETRY,
    O_DELAY,
    O_WAIT_SECONDS,
    O_SYSTEM,
    O_CHANNEL,
    O_PERSISTENT,
    O_UEFI,
    O_LEGACY,
    O_MEDIA,
    O_WRITABLE,
    O_TYPE,
    O_LIMIT,
    O_SECONDS,
    O_ROLE,
    O_ENABLE,
    O_DISABLE,
    O_NEW_PASSWORD,
    O_COLD,
    O_LIST_COMMANDS,
    O_PASSWORD,
};

static const struct option long_options[] = {
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, 'V'},
    {"list-commands", no_argument, NULL, O_LIST_COMMANDS},
    {"url", required_argument, NULL, O_URL},
    {"token", required_argument, NULL, O_TOKEN},
    {"username", required_argument, NULL, 'u'},
    {"credential", required_argument, NULL, O_CREDENTIAL},
    {"protocol", required_argument, NULL, O_PROTOCOL},
    {"port", required_argument, NULL, O_PORT},
    {"cipher-suite", required_argument, NULL, O_CIPHER},
    {"file", required_argument, NULL, 'f'},
    {"config", required_argument, NULL, O_CONFIG},
    {"json", no_argument, NULL, O_JSON},
    {"quiet", no_argument, NULL, 'q'},
    {"no-bulk", no_argument, NULL, O_NO_BULK},
    {"retry", required_argument, NULL, O_RETRY},
    {"delay", required_argument, NULL, O_DELAY},
    {"wait", no_argument, NULL, 'w'},
    {"wait-seconds", required_argument, NULL, O_WAIT_SECONDS},
    {"system", required_argument, NULL, O_SYSTEM},
    {"channel", required_argument, NULL, O_CHANNEL},
    {"persistent", no_argument, NULL, O_PERSISTENT},
    {"uefi", no_argument, NULL, O_UEFI},
    {"legacy", no_argument, NULL, O_LEGACY},
    {"media", required_argument, NULL, O_MEDIA},
    {"writable", no_argument, NULL, O_WRITABLE},
    {"type", required_argument, NULL, O_TYPE},
    {"limit", required_argument, NULL, O_LIMIT},
    {"seconds", required_argument, NULL, O_SECONDS},
    {"role", required_argument, NULL, O_ROLE},
    {"enable", no_argument, NULL, O_ENABLE},
    {"disable", no_argument, NULL, O_DISABLE},
    {"new-password", no_argument, NULL, O_NEW_PASSWORD},
    {"cold", no_argument, NULL, O_COLD},
    {"password", optional_argument, NULL, O_PASSWORD},
    {NULL, 0, NULL, 0},
};

struct cli {
    struct run_opts o;
    struct cliconf conf;
    struct target_list targets;
    const char *config_path;
    const char *username_arg, *credential_arg, *url_arg, *token_arg;
    char **files;
    size_t nfiles;
    char password[SECRET_MAX], new_password[SECRET_MAX], token[SECRET_MAX];
};

static void usage(FILE *out)
{
    fprintf(out,
            "usage: bmcctl [--url URL] [--token T] COMMAND [ARG] HOST... "
            "[options]\n\n"
            "HOST: 10.0.0.5, 10.0.0.5:8443, bmc-r12-[01-40], node01-node40,\n"
            "      a,b,-c (c left out), -f FILE, - (read from stdin)\n\n"
            "commands:\n");
    commands_print_usage(out);
    fprintf(out,
            "\nconnection: -u USER (password from BMC_PASSWORD or a prompt)"
            " | --credential NAME\n"
            "  --protocol redfish|ipmitool  --port N  --cipher-suite N\n"
            "  --retry N  --delay S  --no-bulk\n"
            "output: --json  -q/--quiet\n"
            "service: --url URL (BMC_URL, default " DEFAULT_URL ")  "
            "--token T (BMC_TOKEN)  --config FILE\n"
            "exit status: 0 done, 1 a BMC said no, 2 usage, 3 "
            "authentication, 4 connection to a BMC, 5 the service\n"
            "See bmcctl(1).\n");
}

static int fail_usage(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

static int fail_usage(const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "bmcctl: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry 'bmcctl --help'.\n");
    return EXIT_USAGE;
}

static int parse_long(const char *s, long lo, long hi, long *out)
{
    char *end;
    long v = strtol(s, &end, 10);

    if (!*s || *end || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

static int parse_double(const char *s, double lo, double hi, double *out)
{
    char *end;
    double v = strtod(s, &end);

    if (!*s || *end || !(v >= lo && v <= hi))
        return -1;
    *out = v;
    return 0;
}

static int one_of(const char *v, const char *const *choices)
{
    for (; *choices; choices++)
        if (!strcmp(v, *choices))
            return 0;
    return -1;
}

static const char *const protocols[] = {"redfish", "ipmitool", "ipmi", NULL};
static const char *const media_kinds[] = {"cd", "usb", NULL};
static const char *const sensor_types[] = {"temperature", "fan",   "voltage",
                                           "current",     "power", NULL};
static const char *const roles[] = {"administrator", "operator", "readonly",
                                    NULL};

/* Options with a numeric value: where it goes and its bounds. */
static int set_number(struct cli *c, int opt, const char *arg)
{
    struct run_opts *o = &c->o;
    long v = 0;
    double d = 0;
    int rc = 0;

    switch (opt) {
    case O_PORT: rc = parse_long(arg, 1, 65535, &v), o->port = (int)v; break;
    case O_CIPHER:
        rc = parse_long(arg, 0, 17, &v), o->cipher_suite = (int)v;
        break;
    case O_RETRY:
        rc = parse_long(arg, 1, 100, &v), o->retry_times = (int)v;
        break;
    case O_DELAY: rc = parse_double(arg, 0, 3600, &d), o->delay = d; break;
    case O_WAIT_SECONDS:
        rc = parse_double(arg, 0, 86400, &d), o->wait_seconds = d;
        o->given |= COPT_WAIT | COPT_BMC_WAIT | COPT_TASK_WAIT;
        break;
    case O_CHANNEL:
        rc = parse_long(arg, 0, 15, &v), o->channel = (int)v;
        o->given |= COPT_CHANNEL;
        break;
    case O_LIMIT:
        rc = parse_long(arg, 1, 10000, &v), o->limit = (int)v;
        o->given |= COPT_LIMIT;
        break;
    case O_SECONDS:
        rc = parse_long(arg, 0, 3600, &v), o->seconds = (int)v;
        o->given |= COPT_SECONDS;
        break;
    default: return 1;
    }
    return rc ? fail_usage("bad number '%s'", arg) : 0;
}

/* Options with a word from a list. */
static int set_choice(struct cli *c, int opt, const char *arg)
{
    struct run_opts *o = &c->o;
    const char *const *choices;

    switch (opt) {
    case O_PROTOCOL:
        choices = protocols;
        o->protocol = strcmp(arg, "ipmi") ? arg : "ipmitool";
        break;
    case O_MEDIA:
        choices = media_kinds, o->media = arg, o->given |= COPT_MEDIA;
        break;
    case O_TYPE:
        choices = sensor_types, o->type = arg, o->given |= COPT_TYPE;
        break;
    case O_ROLE: choices = roles, o->role = arg, o->given |= COPT_ROLE; break;
    default: return 1;
    }
    return one_of(arg, choices) ? fail_usage("'%s' is not a choice here", arg)
                                : 0;
}

/* Flags. */
static int set_flag(struct cli *c, int opt)
{
    struct run_opts *o = &c->o;

    switch (opt) {
    case O_JSON: o->json = true; break;
    case 'q': o->quiet = true; break;
    case O_NO_BULK: o->no_bulk = true; break;
    case 'w': o->given |= COPT_WAIT | COPT_BMC_WAIT | COPT_TASK_WAIT; break;
    case O_PERSISTENT:
        o->persistent = true, o->given |= COPT_PERSISTENT;
        break;
    case O_UEFI: o->mode = "uefi", o->given |= COPT_MODE; break;
    case O_LEGACY: o->mode = "legacy", o->given |= COPT_MODE; break;
    case O_WRITABLE: o->writable = true, o->given |= COPT_WRITABLE; break;
    case O_ENABLE: o->enabled = 1, o->given |= COPT_ENABLED; break;
    case O_DISABLE: o->enabled = 0, o->given |= COPT_ENABLED; break;
    case O_NEW_PASSWORD: o->given |= COPT_NEW_PASSWORD; break;
    case O_COLD: o->kind = "cold", o->given |= COPT_KIND; break;
    default: return 1;
    }
    return 0;
}

static int add_file(struct cli *c, const char *path)
{
    char **f = realloc(c->files, (c->nfiles + 1) * sizeof(*f));

    if (!f)
        return EXIT_USAGE;
    c->files = f;
    c->files[c->nfiles++] = (char *)path;
    return 0;
}

static int set_option(struct cli *c, int opt, const char *arg)
{
    struct run_opts *o = &c->o;
    int rc;

    if ((rc = set_number(c, opt, arg)) != 1 ||
        (rc = set_choice(c, opt, arg)) != 1 || (rc = set_flag(c, opt)) != 1)
        return rc;
    switch (opt) {
    case O_URL: c->url_arg = arg; return 0;
    case O_TOKEN: c->token_arg = arg; return 0;
    case 'u': c->username_arg = arg; return 0;
    case O_CREDENTIAL: c->credential_arg = arg; return 0;
    case O_CONFIG: c->config_path = arg; return 0;
    case O_SYSTEM: o->system_id = arg, o->given |= COPT_SYSTEM; return 0;
    case 'f': return add_file(c, arg);
    case O_PASSWORD:
        return fail_usage("%s",
                          "a password is never taken from the command line: "
                          "set BMC_PASSWORD, answer the prompt, or use "
                          "--credential NAME");
    default: return EXIT_USAGE;
    }
}

/* The command options (enum cmd_opt) option OPT stands for; 0: global. */
static unsigned option_bits(int opt)
{
    switch (opt) {
    case 'w':
    case O_WAIT_SECONDS: return COPT_WAIT | COPT_BMC_WAIT | COPT_TASK_WAIT;
    case O_SYSTEM: return COPT_SYSTEM;
    case O_CHANNEL: return COPT_CHANNEL;
    case O_PERSISTENT: return COPT_PERSISTENT;
    case O_UEFI:
    case O_LEGACY: return COPT_MODE;
    case O_MEDIA: return COPT_MEDIA;
    case O_WRITABLE: return COPT_WRITABLE;
    case O_TYPE: return COPT_TYPE;
    case O_LIMIT: return COPT_LIMIT;
    case O_SECONDS: return COPT_SECONDS;
    case O_ROLE: return COPT_ROLE;
    case O_ENABLE:
    case O_DISABLE: return COPT_ENABLED;
    case O_NEW_PASSWORD: return COPT_NEW_PASSWORD;
    case O_COLD: return COPT_KIND;
    default: return 0;
    }
}

static const char *option_name(int opt)
{
    for (const struct option *p = long_options; p->name; p++)
        if (p->val == opt)
            return p->name;
    return "?";
}

#define TYPED_MAX 64

struct typed {
    int opts[TYPED_MAX];
    size_t n;
};

static int parse_options(struct cli *c, int argc, char **argv,
                         struct typed *typed)
{
    int opt, rc;

    while ((opt = getopt_long(argc, argv, "hVu:f:qw", long_options, NULL)) !=
           -1) {
        if (opt == 'h') {
            usage(stdout);
            return -1;
        }
        if (opt == 'V') {
            printf("bmcctl %s\n", PACKAGE_VERSION);
            return -1;
        }
        if (opt == O_LIST_COMMANDS) {
            commands_print_json(stdout);
            return -1;
        }
        if (opt == '?')
            return EXIT_USAGE;
        if ((rc = set_option(c, opt, optarg)) != 0)
            return rc;
        if (typed->n < TYPED_MAX)
            typed->opts[typed->n++] = opt;
    }
    return 0;
}

static int check_typed(const struct command *cmd, const struct typed *typed,
                       const char *cmdname)
{
    char msg[256];

    for (size_t i = 0; i < typed->n; i++) {
        unsigned bits = option_bits(typed->opts[i]);
        if (bits && !(bits & cmd->opts)) {
            snprintf(msg, sizeof(msg), "--%s does not apply to '%s'",
                     option_name(typed->opts[i]), cmdname);
            return fail_usage("%s", msg);
        }
    }
    return 0;
}

/* COMMAND [SUB] [ARG] from the positionals; *NEXT: the first target. */
static int find_command(int argc, char **argv, const struct command **out,
                        struct run_opts *o, int *next)
{
    int i = optind, needs_sub;
    const struct command *cmd;

    if (i >= argc)
        return fail_usage("%s", "no command given");
    cmd =
        commands_find(argv[i], i + 1 < argc ? argv[i + 1] : NULL, &needs_sub);
    if (!cmd && needs_sub) {
        fprintf(stderr, "bmcctl: '%s' wants one of:\n", argv[i]);
        commands_print_usage_of(stderr, argv[i]);
        return EXIT_USAGE;
    }
    if (!cmd)
        return fail_usage("no command '%s'", argv[i]);
    i += cmd->sub ? 2 : 1;
    if (cmd->arg) {
        if (i >= argc) {
            fprintf(stderr, "bmcctl: '%s%s%s' needs %s\n", cmd->name,
                    cmd->sub ? " " : "", cmd->sub ? cmd->sub : "", cmd->arg);
            return EXIT_USAGE;
        }
        o->arg = argv[i++];
    }
    *out = cmd;
    *next = i;
    return 0;
}

static int read_targets(struct cli *c, int argc, char **argv, int first)
{
    char err[512];
    bool stdin_used = false;

    for (int i = first; i < argc; i++) {
        bool is_stdin = !strcmp(argv[i], "-");
        if (is_stdin
                ? (stdin_used = true,
                   targets_add_file(&c->targets, stdin, "stdin", err,
                                    sizeof(err)))
                : targets_add_expr(&c->targets, argv[i], err, sizeof(err)))
            return fail_usage("%s", err);
    }
    for (size_t f = 0; f < c->nfiles; f++) {
        bool is_stdin = !strcmp(c->files[f], "-");
        FILE *in = is_stdin ? stdin : fopen(c->files[f], "re");
        if (!in)
            return fail_usage("cannot open %s", c->files[f]);
        int rc = (is_stdin && stdin_used)
                     ? 0
                     : targets_add_file(&c->targets, in, c->files[f], err,
                                        sizeof(err));
        if (!is_stdin)
            fclose(in);
        if (rc)
            return fail_usage("%s", err);
    }
    return 0;
}

/* The service: --url, BMC_URL, the config file, the default; the token
 * likewise (BMC_TOKEN's value is wiped from the environment once read). */
static int settle_service(struct cli *c)
{
    const char *env_url = getenv("BMC_URL");
    int r;

    c->o.url = c->url_arg              ? c->url_arg
               : env_url && env_url[0] ? env_url
               : c->conf.url           ? c->conf.url
                                       : DEFAULT_URL;
    if (c->token_arg) {
        c->o.token = c->token_arg;
        return 0;
    }
    r = prompt_from_env("BMC_TOKEN", c->token, sizeof(c->token));
    if (r < 0)
        return fail_usage("%s", "BMC_TOKEN is too long");
    c->o.token = r > 0 ? c->token : c->conf.token;
    return 0;
}

static int ask_secret(const char *prompt, char *buf, size_t len)
{
    char err[256];

    if (prompt_secret(prompt, buf, len, err, sizeof(err))) {
        fprintf(stderr, "bmcctl: %s\n", err);
        return EXIT_USAGE;
    }
    return 0;
}

static int settle_new_password(struct cli *c, const struct command *cmd)
{
    char prompt[128], again[SECRET_MAX];
    int r;

    if (!(cmd->opts & COPT_NEW_PASSWORD) ||
        (!(c->o.given & COPT_NEW_PASSWORD) && strcmp(cmd->sub, "create")))
        return 0;
    c->o.given |= COPT_NEW_PASSWORD;
    r = prompt_from_env("BMC_NEW_PASSWORD", c->new_password,
                        sizeof(c->new_password));
    if (r < 0)
        return fail_usage("%s", "BMC_NEW_PASSWORD is too long");
    if (r == 0) {
        snprintf(prompt, sizeof(prompt), "New password for %s: ", c->o.arg);
        if (ask_secret(prompt, c->new_password, sizeof(c->new_password)) ||
            ask_secret("Again: ", again, sizeof(again)))
            return EXIT_USAGE;
        r = strcmp(again, c->new_password);
        explicit_bzero(again, sizeof(again));
        if (r)
            return fail_usage("%s", "the two passwords differ");
    }
    c->o.new_password = c->new_password;
    return 0;
}

/* BMC credentials: --credential, or a user name (-u, the config file)
 * with the password from BMC_PASSWORD, the config file or a prompt. */
static int settle_credentials(struct cli *c)
{
    char prompt[128];
    int r;

    c->o.credential = c->credential_arg;
    c->o.username = c->username_arg;
    if (!c->o.credential && !c->o.username) {
        c->o.credential = c->conf.credential;
        c->o.username = c->conf.username;
    }
    if (!c->o.protocol)
        c->o.protocol = c->conf.protocol;
    if (c->o.port < 0)
        c->o.port = c->conf.port;
    if (c->o.cipher_suite < 0)
        c->o.cipher_suite = c->conf.cipher_suite;
    if (c->o.credential)
        return 0;
    if (!c->o.username)
        return fail_usage("%s", "say who logs in to the BMCs: -u USER or "
                                "--credential NAME");
    r = prompt_from_env("BMC_PASSWORD", c->password, sizeof(c->password));
    if (r < 0)
        return fail_usage("%s", "BMC_PASSWORD is too long");
    if (r == 0 && c->conf.password)
        snprintf(c->password, sizeof(c->password), "%s", c->conf.password);
    else if (r == 0) {
        snprintf(prompt, sizeof(prompt), "Password for %s: ", c->o.username);
        if (ask_secret(prompt, c->password, sizeof(c->password)))
            return EXIT_USAGE;
    }
    c->o.password = c->password;
    return 0;
}

static void cli_init(struct cli *c)
{
    memset(c, 0, sizeof(*c));
    c->o.port = c->o.cipher_suite = c->o.retry_times = -1;
    c->o.limit = c->o.seconds = c->o.channel = c->o.enabled = -1;
    c->o.delay = c->o.wait_seconds = -1;
    c->o.media = "cd";
}

static void cli_free(struct cli *c)
{
    explicit_bzero(c->password, sizeof(c->password));
    explicit_bzero(c->new_password, sizeof(c->new_password));
    explicit_bzero(c->token, sizeof(c->token));
    targets_free(&c->targets);
    cliconf_free(&c->conf);
    free(c->files);
}

/* Everything between the command line and run_command. */
static int prepare(struct cli *c, int argc, char **argv,
                   const struct command **cmd)
{
    struct typed typed = {.n = 0};
    char err[512], name[64];
    int rc, first;

    if ((rc = parse_options(c, argc, argv, &typed)) != 0 ||
        (rc = find_command(argc, argv, cmd, &c->o, &first)) != 0)
        return rc;
    if (!*cmd)
        return EXIT_USAGE;
    snprintf(name, sizeof(name), "%s%s%s", (*cmd)->name,
             (*cmd)->sub ? " " : "", (*cmd)->sub ? (*cmd)->sub : "");
    if ((rc = check_typed(*cmd, &typed, name)) != 0)
        return rc;
    c->o.given &= (*cmd)->opts;
    if ((*cmd)->kind != CMD_BMC && (first < argc || c->nfiles))
        return fail_usage("'%s' takes no hosts", name);
    if ((*cmd)->kind == CMD_BMC) {
        if ((rc = read_targets(c, argc, argv, first)) != 0)
            return rc;
        if (c->targets.n == 0)
            return fail_usage("'%s' needs at least one HOST", name);
    }
    if (cliconf_load(c->config_path, &c->conf, err, sizeof(err)))
        return fail_usage("%s", err);
    if ((rc = settle_service(c)) != 0)
        return rc;
    if ((*cmd)->kind != CMD_BMC)
        return 0;
    if ((rc = settle_credentials(c)) != 0)
        return rc;
    return settle_new_password(c, *cmd);
}

int main(int argc, char **argv)
{
    struct cli c;
    const struct command *cmd = NULL;
    int rc;

    cli_init(&c);
    rc = prepare(&c, argc, argv, &cmd);
    if (rc == 0) {
        curl_global_init(CURL_GLOBAL_DEFAULT);
        rc = run_command(cmd, &c.o, &c.targets);
        curl_global_cleanup();
    } else if (rc < 0) {
        rc = 0; /* --help, --version, --list-commands */
    }
    cli_free(&c);
    return rc;
}
