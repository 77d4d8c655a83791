/*
 * scenarios/errors.c - the words of the error faults (faultline/errors.h):
 * errno names, DNS rcodes and domain patterns, HTTP status codes and
 * paths, and the completion of a spec once its target is known.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "faultline/errors.h"
#include "faultline/units.h"

static const struct {
	const char *name;
	int e;
} errnos[] = {
    {"ECONNREFUSED", ECONNREFUSED}, {"ETIMEDOUT", ETIMEDOUT}, {"ENETUNREACH", ENETUNREACH},
    {"EHOSTUNREACH", EHOSTUNREACH}, {"EACCES", EACCES},
};

int fl_parse_errno_name(const char *s, const char *field, int *err_out, struct fl_error *err)
{
	for (size_t i = 0; i < sizeof(errnos) / sizeof(errnos[0]); i++)
		if (!strcasecmp(s, errnos[i].name)) {
			*err_out = errnos[i].e;
			return 0;
		}
	return fl_error_set(err, field, "\"%s\" is not an errno refuse offers (expected %s)", s,
			    FL_ERRNO_NAMES);
}

const char *fl_errno_name(int e)
{
	for (size_t i = 0; i < sizeof(errnos) / sizeof(errnos[0]); i++)
		if (errnos[i].e == e)
			return errnos[i].name;
	return NULL;
}

static const struct {
	const char *name;
	int rcode;
} rcodes[] = {
    {"servfail", FL_DNS_RCODE_SERVFAIL},
    {"nxdomain", FL_DNS_RCODE_NXDOMAIN},
    {"refused", FL_DNS_RCODE_REFUSED},
    {"drop", FL_DNS_RCODE_DROP},
};

int fl_parse_dns_rcode(const char *s, const char *field, int *rcode, struct fl_error *err)
{
	for (size_t i = 0; i < sizeof(rcodes) / sizeof(rcodes[0]); i++)
		if (!strcasecmp(s, rcodes[i].name)) {
			*rcode = rcodes[i].rcode;
			return 0;
		}
	return fl_error_set(err, field,
			    "\"%s\" is not a DNS failure (expected servfail, nxdomain, refused or "
			    "drop)",
			    s);
}

const char *fl_dns_rcode_name(int rcode)
{
	for (size_t i = 0; i < sizeof(rcodes) / sizeof(rcodes[0]); i++)
		if (rcodes[i].rcode == rcode)
			return rcodes[i].name;
	return "?";
}

#define DOMAIN_FORM "names such as db.example.com or *.example.com"

/* One pattern, [p, p + n), checked and appended to out in lower case. */
static int add_domain(const char *p, size_t n, const char *whole, const char *field, char *out,
		      struct fl_error *err)
{
	size_t wire = 1, o = strlen(out), label = 0;
	int wild = 0, count = 1;

	for (const char *q = out; *q; q++)
		count += *q == ',';
	if (o && count > FL_DNS_PATTERNS_MAX)
		return fl_error_set(err, field, "more than %d patterns (expected at most %d)",
				    FL_DNS_PATTERNS_MAX, FL_DNS_PATTERNS_MAX);
	if (n && p[n - 1] == '.')
		n--; /* the root's dot */
	if (!n)
		return fl_error_set(err, field, "\"%s\" has an empty pattern (expected %s)", whole,
				    DOMAIN_FORM);
	if (n >= 2 && p[0] == '*' && p[1] == '.') {
		wild = 1;
		p += 2;
		n -= 2;
		if (!n)
			return fl_error_set(err, field,
					    "\"%s\": \"*.\" needs a name after it (expected %s)",
					    whole, DOMAIN_FORM);
	}
	for (size_t i = 0; i <= n; i++) {
		char c = i < n ? p[i] : '.';

		if (c == '.') {
			if (!label)
				return fl_error_set(err, field,
						    "\"%s\" has an empty label (expected %s)",
						    whole, DOMAIN_FORM);
			if (label > 63)
				return fl_error_set(err, field,
						    "\"%s\" has a label longer than 63 characters "
						    "(expected DNS labels of 1 to 63)",
						    whole);
			wire += label + 1;
			label = 0;
			continue;
		}
		if (c == '*')
			return fl_error_set(err, field,
					    "\"%s\": '*' is allowed only as a whole first label, "
					    "\"*.\" (expected %s)",
					    whole, DOMAIN_FORM);
		if (!isalnum((unsigned char)c) && c != '-' && c != '_')
			return fl_error_set(err, field,
					    "\"%s\" has '%c', which no host name has (expected "
					    "letters, digits, '-' and '_' in %s)",
					    whole, c, DOMAIN_FORM);
		label++;
	}
	if (wire > FL_DNS_NAME_MAX)
		return fl_error_set(
		    err, field, "\"%s\" is longer than a DNS name may be (255 bytes on the wire)",
		    whole);
	if (o + n + 4 >= FL_DNS_DOMAINS_TEXT)
		return fl_error_set(err, field, "the patterns are longer than %d characters in all",
				    FL_DNS_DOMAINS_TEXT - 1);
	o += (size_t)snprintf(out + o, FL_DNS_DOMAINS_TEXT - o, "%s%s", o ? "," : "",
			      wild ? "*." : "");
	for (size_t i = 0; i < n; i++)
		out[o++] = (char)tolower((unsigned char)p[i]);
	out[o] = '\0';
	return 0;
}

int fl_parse_dns_domains(const char *s, const char *field, char *out, struct fl_error *err)
{
	const char *item = s, *end;

	for (;; item = end + 1) {
		end = strchr(item, ',');
		if (!end)
			end = item + strlen(item);
		if (add_domain(item, (size_t)(end - item), s, field, out, err))
			return -EINVAL;
		if (!*end)
			return 0;
	}
}

int fl_parse_http_status(const char *s, const char *field, int *status, struct fl_error *err)
{
	if (strlen(s) != 3 || !isdigit((unsigned char)s[0]) || !isdigit((unsigned char)s[1]) ||
	    !isdigit((unsigned char)s[2]) || s[0] < '1' || s[0] > '5')
		return fl_error_set(err, field,
				    "\"%s\" is not an HTTP status code (expected three digits from "
				    "100 to 599, e.g. 503)",
				    s);
	*status = (s[0] - '0') * 100 + (s[1] - '0') * 10 + (s[2] - '0');
	return 0;
}

int fl_parse_http_path(const char *s, const char *field, char *out, struct fl_error *err)
{
	size_t n = strlen(s);

	if (s[0] != '/')
		return fl_error_set(err, field,
				    "\"%s\" is not a request path (expected a prefix starting "
				    "with '/', e.g. /api)",
				    s);
	if (n > FL_HTTP_PATH_MAX)
		return fl_error_set(
		    err, field, "\"%.20s...\" is longer than %d bytes (expected a shorter prefix)",
		    s, FL_HTTP_PATH_MAX);
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] <= ' ' || s[i] == 0x7f)
			return fl_error_set(err, field,
					    "\"%s\" has a space or control character, which a "
					    "request path never has (expected e.g. /api/v1)",
					    s);
	memcpy(out, s, n + 1);
	return 0;
}

bool fl_spec_has_error(const struct fl_rule_spec *s)
{
	return s->refuse.err || s->reset.on || s->dns.rcode || s->http.on;
}

/* The single port of a set, or 0. */
static uint16_t single_port(const struct fl_port_set *ps)
{
	return ps->n == 1 && ps->r[0].lo == ps->r[0].hi ? ps->r[0].lo : 0;
}

int fl_errors_complete(struct fl_rule_spec *s, bool dir_given, bool by_cgroup,
		       const char *const f[6], struct fl_error *err)
{
	const char *fault = s->refuse.err  ? "refuse"
			    : s->reset.on  ? "reset"
			    : s->dns.rcode ? "dns"
			    : s->http.on   ? "http"
					   : NULL;

	if (!fault)
		return 0;
	if (s->refuse.err) {
		if (s->local_ports.n)
			return fl_error_set(err, f[2],
					    "refuse acts on connect(), which knows only the remote "
					    "side (expected %s or %s)",
					    f[1], f[3]);
		if (s->share_ppb && s->share_ppb < FL_PPB_100)
			return fl_error_set(err, f[5],
					    "refuse chooses connect() calls, not flows (expected "
					    "refuse's own percent instead)");
		if (dir_given)
			return fl_error_set(err, f[4],
					    "refuse acts on connect(), not on packets: it has no "
					    "direction (expected no %s)",
					    f[4]);
		if (s->protocol == FL_PROTO_ICMP)
			return fl_error_set(
			    err, f[0],
			    "refuse fails TCP and UDP connect(), not icmp (expected "
			    "tcp, udp or any)");
		return 0;
	}
	if (s->reset.on || s->http.on) {
		if (s->protocol != FL_PROTOCOL_ANY && s->protocol != FL_PROTO_TCP)
			return fl_error_set(err, f[0], "%s acts on TCP connections (expected tcp)",
					    fault);
		s->protocol = FL_PROTO_TCP;
	}
	if (s->dns.rcode) {
		uint16_t port = s->dns.port;

		if (s->protocol == FL_PROTO_ICMP)
			return fl_error_set(
			    err, f[0],
			    "DNS runs over UDP and TCP, not icmp (expected udp, tcp "
			    "or any)");
		if (!port)
			port = single_port(&s->ports);
		if (!port)
			port = single_port(&s->remote_ports);
		if (!port)
			port = single_port(&s->local_ports);
		if (!port && (s->ports.n || s->remote_ports.n || s->local_ports.n))
			return fl_error_set(err, f[1],
					    "dns needs the DNS server's one port, not a list or a "
					    "range (expected e.g. 53 or 5353)");
		if (!port)
			port = 53;
		s->dns.port = port;
		if (!s->ports.n && !s->remote_ports.n && !s->local_ports.n) {
			s->ports.n = 1;
			s->ports.r[0].lo = s->ports.r[0].hi = port;
		}
	}
	if (!dir_given)
		s->dir_mask = by_cgroup ? FL_DIRMASK_EGRESS : FL_DIRMASK_BOTH;
	return 0;
}
