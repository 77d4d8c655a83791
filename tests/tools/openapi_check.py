#!/usr/bin/env python3
"""tests/tools/openapi_check.py - checks docs/openapi.json, the OpenAPI 3.0 description of
faultlined's REST API, and real responses of the daemon against it.

  openapi_check.py spec        the document is valid OpenAPI 3.0 (the official JSON Schema,
                               tests/tools/openapi-3.0.schema.json, Draft 4), every $ref
                               resolves, path parameters are declared, and the Report
                               schemas are docs/report.schema.json converted to OpenAPI
  openapi_check.py routes      the paths and methods of the document are those api/server.c's
                               route() answers (read from its source: drift fails)
  openapi_check.py response METHOD PATH STATUS --content-type CT --body FILE [--headers FILE]
                               one response against the document: PATH a template
                               (/v1/experiments/{id}) or a real path (query ignored)
  openapi_check.py responses DIR [--require-all-operations]
                               every exchange recorded in DIR (N.req: "METHOD PATH",
                               N.h: the headers as curl -D writes them, N.b: the body)
Options: --spec FILE (default docs/openapi.json), --schema FILE, --report-schema FILE,
--server FILE. Exit 0 when all is well, 1 with the reasons on stderr otherwise.

OpenAPI 3.0 schema objects are validated as JSON Schema Draft 4 after one rewrite:
`nullable: true` becomes anyOf [{type: null}, the rest] (3.0.3: it adds null to a schema
with a type).

tests/tools/openapi-3.0.schema.json is the official OpenAPI 3.0 JSON Schema (id
https://spec.openapis.org/oas/3.0/schema/2021-09-28), copied unchanged from
github.com/OAI/OpenAPI-Specification, schemas/v3.0/schema.json at commit
42f7075cf1854d44c99b6434a0e897538c6a2288 (its last version there before it moved to
_archive_/ as YAML); Apache License 2.0, (c) the OpenAPI Initiative.
"""
import argparse
import copy
import json
import os
import re
import sys
import xml.etree.ElementTree as ET

import jsonschema

try:  # jsonschema 4.18 and later resolve $refs with referencing (RefResolver is deprecated)
    import referencing
    import referencing.jsonschema
except ImportError:  # jsonschema 4.10 (Debian 12's python3-jsonschema)
    referencing = None

TOP = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


def fail(msgs):
    for m in msgs:
        print("openapi_check: " + m, file=sys.stderr)
    return 1


def load(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


# --- $refs ---------------------------------------------------------------------


def pointer(doc, ref):
    """The node a local $ref ("#/a/b") names, or KeyError."""
    if not ref.startswith("#"):
        raise KeyError("not a local reference: " + ref)
    node = doc
    frag = ref[1:]
    if frag in ("", "/"):
        return node
    for part in frag.lstrip("/").split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        if isinstance(node, list):
            node = node[int(part)]
        elif isinstance(node, dict) and part in node:
            node = node[part]
        else:
            raise KeyError(ref)
    return node


def all_refs(node, where="#"):
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "$ref" and isinstance(v, str):
                yield where, v
            else:
                yield from all_refs(v, where + "/" + k.replace("~", "~0").replace("/", "~1"))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from all_refs(v, "%s/%d" % (where, i))


def deref(doc, node, seen=None):
    """Follow $ref chains of a Response/Parameter/Header object."""
    seen = seen or set()
    while isinstance(node, dict) and "$ref" in node:
        if node["$ref"] in seen:
            raise KeyError("$ref loop at " + node["$ref"])
        seen.add(node["$ref"])
        node = pointer(doc, node["$ref"])
    return node


# --- docs/report.schema.json as OpenAPI 3.0 schema objects ----------------------


def report_name(defname):
    return "Report" + "".join(p[:1].upper() + p[1:] for p in defname.split("_"))


def report_components(rs):
    """docs/report.schema.json (draft-07) rewritten as OpenAPI 3.0 components: "Report"
    and one "ReportXxx" per definition; type lists with null, enums with null and oneOf
    [{type: null}, X] become X with nullable; const becomes a one-value enum."""
    defs = rs.get("definitions", {})

    def tname(v):
        return {bool: "boolean", int: "integer", float: "number", str: "string"}[type(v)]

    def conv(n):
        if isinstance(n, list):
            return [conv(x) for x in n]
        if not isinstance(n, dict):
            return n
        if "$ref" in n:
            m = re.fullmatch(r"#/definitions/(\w+)", n["$ref"])
            if not m:
                raise ValueError("report schema: cannot convert $ref " + n["$ref"])
            return {"$ref": "#/components/schemas/" + report_name(m.group(1))}
        out = {}
        one = n.get("oneOf")
        if one and len(one) == 2 and {"type": "null"} in one:
            other = [x for x in one if x != {"type": "null"}][0]
            if "$ref" in other:
                other = defs[other["$ref"].split("/")[-1]]
            out = conv(other)
            out["nullable"] = True
            n = {k: v for k, v in n.items() if k != "oneOf"}
        for k, v in n.items():
            if k in ("$schema", "$id", "definitions"):
                continue
            if k == "const":
                out["type"] = tname(v)
                out["enum"] = [v]
            elif k == "type" and isinstance(v, list):
                ts = [t for t in v if t != "null"]
                if len(ts) != 1:
                    raise ValueError("report schema: cannot convert type %r" % (v,))
                out["type"] = ts[0]
                if "null" in v:
                    out["nullable"] = True
            elif k == "enum":
                out["enum"] = list(v)
                vals = [x for x in v if x is not None]
                if "type" not in n:
                    out["type"] = tname(vals[0])
                if None in v:
                    out["nullable"] = True
            elif k in ("properties",):
                out[k] = {p: conv(s) for p, s in v.items()}
            elif k in ("items", "additionalProperties", "not"):
                out[k] = conv(v)
            elif k in ("allOf", "anyOf", "oneOf"):
                out[k] = [conv(s) for s in v]
            else:
                out[k] = copy.deepcopy(v)
        return out

    comps = {"Report": conv(rs)}
    for name, d in defs.items():
        comps[report_name(name)] = conv(d)
    return comps


# --- OpenAPI schema objects as JSON Schema Draft 4 --------------------------------


def to_jsonschema(n):
    if isinstance(n, list):
        return [to_jsonschema(x) for x in n]
    if not isinstance(n, dict):
        return n
    out = {k: to_jsonschema(v) for k, v in n.items() if not (k == "nullable" and isinstance(v, bool))}
    if n.get("nullable") is True:
        return {"anyOf": [{"type": "null"}, out]}
    return out


def describe(e):
    """One line for a validation error; for anyOf/oneOf, the deepest error of a branch."""
    while e.context:  # the deepest error of the branches says most
        e = max(e.context, key=lambda c: len(c.absolute_path))
    msg = e.message if len(e.message) <= 300 else e.message[:300] + "..."
    return "%s: %s" % ("/".join(str(p) for p in e.absolute_path) or "(body)", msg)


class Spec:
    def __init__(self, path):
        self.path = path
        self.doc = load(path)
        self.js = to_jsonschema(self.doc)
        if referencing:
            self.registry = referencing.Registry().with_resource(
                self.URI, referencing.Resource(self.js, referencing.jsonschema.DRAFT4))
        else:
            self.resolver = jsonschema.RefResolver(base_uri=self.URI, referrer=self.js)

    URI = "urn:faultline:openapi.json"

    def validator(self, schema):
        """A Draft 4 validator of schema, whose $refs ("#/...") name this document."""
        if referencing:
            return jsonschema.Draft4Validator(schema, registry=self.registry)
        return jsonschema.Draft4Validator(schema, resolver=self.resolver)

    def validate(self, schema_node_pointer, instance):
        """Errors of instance against the schema at JSON pointer (of the document)."""
        v = self.validator({"$ref": self.URI + schema_node_pointer})
        return [describe(e) for e in sorted(v.iter_errors(instance), key=lambda e: list(e.absolute_path))]

    def templates(self):
        return list(self.doc.get("paths", {}).keys())

    def match(self, path):
        """The path template for a real path (query ignored), or None."""
        path = path.split("?", 1)[0]
        if path in self.doc["paths"]:
            return path
        for t in self.templates():
            rx = "^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(t)) + "$"
            if re.match(rx, path):
                return t
        return None

    def methods(self, template):
        return sorted(m.upper() for m in self.doc["paths"][template] if m in METHODS)


# --- spec ------------------------------------------------------------------------


def check_spec(args):
    errs = []
    doc = load(args.spec)
    schema = load(args.schema)
    v = jsonschema.Draft4Validator(schema)
    for e in sorted(v.iter_errors(doc), key=lambda e: list(e.absolute_path)):
        where = "/".join(str(p) for p in e.absolute_path)
        errs.append("not valid OpenAPI 3.0 at /%s: %s" % (where, e.message[:300]))
    nref = 0
    for where, ref in all_refs(doc):
        nref += 1
        try:
            pointer(doc, ref)
        except (KeyError, IndexError, ValueError):
            errs.append("%s: $ref %s does not resolve" % (where, ref))
    # the schema objects are Draft 4 schemas once nullable is rewritten
    js = to_jsonschema(doc)
    for name, s in js.get("components", {}).get("schemas", {}).items():
        try:
            jsonschema.Draft4Validator.check_schema(s)
        except jsonschema.SchemaError as e:
            errs.append("components/schemas/%s is not a valid schema: %s" % (name, e.message))
    # every {param} of a path is a declared path parameter, and the reverse
    for t, item in doc.get("paths", {}).items():
        names = set(re.findall(r"\{([^}]+)\}", t))
        for m in METHODS:
            if m not in item:
                continue
            ps = [deref(doc, p) for p in item.get("parameters", []) + item[m].get("parameters", [])]
            declared = {p["name"] for p in ps if p.get("in") == "path"}
            if declared != names:
                errs.append("%s %s: path parameters %s, the template has %s"
                            % (m.upper(), t, sorted(declared), sorted(names)))
            if not item[m].get("responses"):
                errs.append("%s %s: no responses" % (m.upper(), t))
    # the Report schemas are docs/report.schema.json's
    want = report_components(load(args.report_schema))
    have = doc.get("components", {}).get("schemas", {})
    for name, s in want.items():
        if have.get(name) != s:
            errs.append("components/schemas/%s differs from docs/report.schema.json converted "
                        "(want %s)" % (name, json.dumps(s, sort_keys=True)[:400]))
    if errs:
        return fail(errs)
    print("ok: %s is valid OpenAPI %s (%d paths, %d operations, %d $refs resolve, "
          "Report = docs/report.schema.json)"
          % (os.path.relpath(args.spec), doc["openapi"], len(doc["paths"]),
             sum(1 for i in doc["paths"].values() for m in i if m in METHODS), nref))
    return 0


# --- routes ----------------------------------------------------------------------


def server_routes(path):
    """{path template: set of methods} that route() in api/server.c answers, read from
    its strcmp(url, ...) / split_id / strcmp(rest, ...) tests and the not_allowed(...)
    lists that follow them."""
    src = open(path, encoding="utf-8").read()
    m = re.search(r"\nstatic enum MHD_Result route\(.*?\n\{(.*?)\n\}\n", src, re.S)
    if not m:
        raise ValueError("%s: no route() function" % path)
    body = m.group(1)
    ev = re.compile(r'strcmp\(url, "([^"]+)"\)|split_id\(url, "([^"]+)"|strcmp\(rest, "([^"]+)"\)'
                    r'|not_allowed\(c, method, "([^"]+)"\)')
    routes, group, base, last, rest_group = {}, [], None, "allow", False
    for e in ev.finditer(body):
        url, prefix, rest, allow = e.groups()
        if url:
            group = group + [url] if last == "url" else [url]
            last = "url"
        elif prefix:
            base = prefix + "{id}"
            group, last = [base], "prefix"
        elif rest:
            group, last, rest_group = [base + rest], "rest", True
        else:
            for p in group:
                routes.setdefault(p, set()).update(x.strip() for x in allow.split(","))
            if rest_group:
                group, rest_group = [base], False
            last = "allow"
    if not routes:
        raise ValueError("%s: no routes found in route()" % path)
    return routes


def check_routes(args):
    doc = load(args.spec)
    daemon = server_routes(args.server)
    spec = {t: {m.upper() for m in item if m in METHODS} for t, item in doc["paths"].items()}
    errs = []
    for t in sorted(set(daemon) | set(spec)):
        d, s = daemon.get(t, set()), spec.get(t, set())
        if d != s:
            errs.append("%s: the daemon answers %s, the document has %s"
                        % (t, ", ".join(sorted(d)) or "nothing", ", ".join(sorted(s)) or "nothing"))
    if errs:
        return fail(errs)
    print("ok: %d paths, %d operations, the same in %s and %s"
          % (len(spec), sum(len(v) for v in spec.values()), os.path.relpath(args.spec),
             os.path.relpath(args.server)))
    for t in sorted(spec):
        print("  %-32s %s" % (t, ", ".join(sorted(spec[t]))))
    return 0


# --- responses -------------------------------------------------------------------


def parse_headers(text):
    """(status, {lower name: value}) of the last response in curl -D output."""
    status, hdrs = None, {}
    for line in text.replace("\r", "").split("\n"):
        m = re.match(r"^HTTP/[0-9.]+ ([0-9]{3})", line)
        if m:
            status, hdrs = int(m.group(1)), {}
        elif ":" in line:
            k, v = line.split(":", 1)
            hdrs[k.strip().lower()] = v.strip()
    return status, hdrs


def media(ct):
    return ct.split(";", 1)[0].strip().lower() if ct else None


def check_one(spec, method, path, status, ctype, body, headers=None):
    """Errors of one response; also (template, method, status) it counts as."""
    method = method.upper()
    doc = spec.doc
    t = path if path in doc["paths"] else spec.match(path)
    if t is None:
        resp_ptr, key = "#/components/responses/NoSuchRoute", ("(no route)", method, status)
        if status != 404:
            return ["%s %s: no such path in the document, yet %d (expected 404)"
                    % (method, path, status)], key
    else:
        item = doc["paths"][t]
        opm = "get" if method == "HEAD" and "head" not in item else method.lower()
        if opm not in item or opm not in METHODS:
            key = (t, method, status)
            if status != 405:
                return ["%s %s: %s has no %s operation, yet %d (expected 405)"
                        % (method, path, t, method, status)], key
            resp_ptr = "#/components/responses/MethodNotAllowed"
            allow = sorted(x.strip().upper() for x in (headers or {}).get("allow", "").split(",") if x.strip())
            if headers is not None and allow != spec.methods(t):
                return ["%s %s: 405 with Allow %s, the document's methods are %s"
                        % (method, path, allow, spec.methods(t))], key
        else:
            key = (t, opm.upper(), status)
            rs = item[opm]["responses"]
            code = str(status)
            if code not in rs:
                code = code[0] + "XX" if code[0] + "XX" in rs else "default"
            if code not in rs:
                return ["%s %s: status %d is not in the document (%s has %s)"
                        % (method, path, status, t, ", ".join(sorted(rs)))], key
            resp_ptr = "#/paths/%s/%s/responses/%s" % (t.replace("~", "~0").replace("/", "~1"), opm, code)
    errs = []
    resp = deref(doc, pointer(doc, resp_ptr))
    # resolve the pointer to a response object (a $ref chain) for schema pointers
    while "$ref" in pointer(doc, resp_ptr):
        resp_ptr = pointer(doc, resp_ptr)["$ref"]
    what = "%s %s -> %d" % (method, path, status)
    for name, h in (resp.get("headers") or {}).items():
        h = deref(doc, h)
        if headers is None:
            continue
        val = headers.get(name.lower())
        if val is None:
            if h.get("required"):
                errs.append("%s: no %s header" % (what, name))
            continue
        sch = h.get("schema", {})
        inst = val
        if sch.get("type") == "integer":
            if not re.fullmatch(r"[0-9]+", val):
                errs.append("%s: header %s %r is not an integer" % (what, name, val))
                continue
            inst = int(val)
        v = spec.validator(to_jsonschema(sch))
        errs += ["%s: header %s: %s" % (what, name, e.message) for e in v.iter_errors(inst)]
    content = resp.get("content")
    if not content:
        if body:
            errs.append("%s: the document says no body, got %d bytes" % (what, len(body)))
        return errs, key
    mt = media(ctype)
    if mt is None:
        if not resp.get("x-faultline-no-content-type"):
            errs.append("%s: no Content-Type" % what)
            return errs, key
        mt = next(iter(content))
    keys = {media(k): k for k in content}
    if mt not in keys:
        errs.append("%s: Content-Type %s, the document has %s" % (what, ctype, ", ".join(content)))
        return errs, key
    if method == "HEAD":
        if body:
            errs.append("%s: HEAD with a body" % what)
        return errs, key
    mobj = content[keys[mt]]
    sch_ptr = "%s/content/%s/schema" % (resp_ptr, keys[mt].replace("~", "~0").replace("/", "~1"))
    if "schema" not in mobj:
        return errs, key
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return errs + ["%s: the body is not UTF-8" % what], key
    if mt == "application/json" or mt.endswith("+json"):
        try:
            inst = json.loads(text)
        except ValueError as e:
            return errs + ["%s: the body is not JSON: %s" % (what, e)], key
    else:
        inst = text
        if mt.endswith("/xml") or mt.endswith("+xml"):
            try:
                ET.fromstring(body)
            except ET.ParseError as e:
                errs.append("%s: the body is not well-formed XML: %s" % (what, e))
    errs += ["%s: %s" % (what, e) for e in spec.validate(sch_ptr, inst)]
    return errs, key


def cmd_response(args):
    spec = Spec(args.spec)
    body = open(args.body, "rb").read() if args.body else b""
    headers = None
    if args.headers:
        _, headers = parse_headers(open(args.headers, encoding="latin-1").read())
    errs, key = check_one(spec, args.method, args.path, int(args.status), args.content_type, body, headers)
    if errs:
        return fail(errs)
    print("ok: %s %s %d (%s %s)" % (args.method, args.path, int(args.status), key[1], key[0]))
    return 0


def cmd_responses(args):
    spec = Spec(args.spec)
    errs, seen, n = [], {}, 0
    reqs = sorted((f for f in os.listdir(args.dir) if f.endswith(".req")),
                  key=lambda f: int(re.sub(r"\D", "", f) or 0))
    for f in reqs:
        base = os.path.join(args.dir, f[:-4])
        method, path = open(base + ".req", encoding="utf-8").read().split()[:2]
        hdr_text = open(base + ".h", encoding="latin-1").read() if os.path.exists(base + ".h") else ""
        status, headers = parse_headers(hdr_text)
        if status is None:
            errs.append("%s %s: no response (%s)" % (method, path, base))
            continue
        body = open(base + ".b", "rb").read() if os.path.exists(base + ".b") else b""
        e, key = check_one(spec, method, path, status, headers.get("content-type"), body, headers)
        n += 1
        seen.setdefault(key, 0)
        seen[key] += 1
        errs += e
        if args.verbose:
            print("%s %s %s -> %d %s" % ("FAIL" if e else "ok", method, path, status,
                                         headers.get("content-type", "-")))
    if args.require_all_operations:
        for t, item in spec.doc["paths"].items():
            for m in item:
                if m in METHODS and not any(k[0] == t and k[1] == m.upper() and 200 <= k[2] < 300
                                            for k in seen):
                    errs.append("%s %s was never answered with a 2xx" % (m.upper(), t))
    print("%d responses checked against %s:" % (n, os.path.relpath(args.spec)))
    for k in sorted(seen, key=lambda k: (k[0], k[1], k[2])):
        print("  %-30s %-6s %d  x%d" % (k[0], k[1], k[2], seen[k]))
    if errs:
        return fail(errs)
    print("ok: every response matches the document")
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--spec", default=os.path.join(TOP, "docs/openapi.json"))
    ap.add_argument("--schema", default=os.path.join(TOP, "tests/tools/openapi-3.0.schema.json"))
    ap.add_argument("--report-schema", default=os.path.join(TOP, "docs/report.schema.json"))
    ap.add_argument("--server", default=os.path.join(TOP, "api/server.c"))
    sub = ap.add_subparsers(dest="cmd", required=True)
    sub.add_parser("spec")
    sub.add_parser("routes")
    r = sub.add_parser("response")
    r.add_argument("method")
    r.add_argument("path")
    r.add_argument("status")
    r.add_argument("--content-type")
    r.add_argument("--body")
    r.add_argument("--headers")
    rs = sub.add_parser("responses")
    rs.add_argument("dir")
    rs.add_argument("--require-all-operations", action="store_true")
    rs.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args()
    try:
        return {"spec": check_spec, "routes": check_routes, "response": cmd_response,
                "responses": cmd_responses}[args.cmd](args)
    except (OSError, ValueError, KeyError) as e:
        return fail(["%s: %s" % (type(e).__name__, e)])


if __name__ == "__main__":
    sys.exit(main())
