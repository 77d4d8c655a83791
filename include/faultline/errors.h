/*
 * faultline/errors.h - the words of the error faults (refuse, reset, dns,
 * http; docs/errors.md), shared by `faultline inject` and the scenario
 * language so that both accept and refuse exactly the same input.
 *
 * Parsers return 0, or -EINVAL with err naming the field and the expected
 * form. They never print and touch nothing.
 */
#ifndef FAULTLINE_ERRORS_H
#define FAULTLINE_ERRORS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "faultline/engine.h"
#include "faultline/error.h"

/* The errnos refuse offers, by name ("ECONNREFUSED", case-insensitive). */
int fl_parse_errno_name(const char *s, const char *field, int *err_out, struct fl_error *err);
/* "ECONNREFUSED"; NULL for an errno refuse does not offer. */
const char *fl_errno_name(int e);
#define FL_ERRNO_NAMES "ECONNREFUSED, ETIMEDOUT, ENETUNREACH, EHOSTUNREACH or EACCES"

/* servfail, nxdomain, refused or drop (FL_DNS_RCODE_*). */
int fl_parse_dns_rcode(const char *s, const char *field, int *rcode, struct fl_error *err);
const char *fl_dns_rcode_name(int rcode);

/* A --domain list: names ("db.example.com") and wildcards ("*.svc.local",
 * every name strictly below svc.local), comma-separated; appended to out
 * (comma-separated, lower case, without trailing dots), which holds
 * FL_DNS_DOMAINS_TEXT bytes. At most FL_DNS_PATTERNS_MAX patterns in all. */
int fl_parse_dns_domains(const char *s, const char *field, char *out, struct fl_error *err);

/* An HTTP status code: three digits, 100 to 599. */
int fl_parse_http_status(const char *s, const char *field, int *status, struct fl_error *err);

/* A request path prefix: starts with '/', at most FL_HTTP_PATH_MAX bytes, no
 * space or control character. Copied to out (FL_HTTP_PATH_MAX + 1 bytes). */
int fl_parse_http_path(const char *s, const char *field, char *out, struct fl_error *err);

/*
 * After the target is known: complete and check a spec carrying an error
 * fault as inject and scenarios both do.
 *  - reset and http are TCP (protocol any becomes tcp; udp or icmp is an
 *    error); dns is TCP and UDP; refuse TCP and UDP;
 *  - dns: the server's port is the target's single port (port, else
 *    remote_port, else local_port), else 53, and a target without ports
 *    gets port 53;
 *  - reset, dns, http act in both directions unless a direction was given
 *    (dir_given) or a cgroup, pid or command narrows the target (by_cgroup:
 *    egress only, where the kernel knows the sender's cgroup);
 *  - refuse knows only the remote side of connect(): local ports and
 *    share are refused, and so is a direction.
 * fields names the target's fields for messages: {"--protocol", "--port",
 * "--local-port", "--remote-port", "--direction", "--share"} for inject,
 * the scenario's keys otherwise (index order as listed).
 */
int fl_errors_complete(struct fl_rule_spec *s, bool dir_given, bool by_cgroup,
		       const char *const fields[6], struct fl_error *err);

/* Does the spec carry an error fault (refuse, reset, dns, http)? */
bool fl_spec_has_error(const struct fl_rule_spec *s);

#endif /* FAULTLINE_ERRORS_H */
