"""docs/openapi.json, the HTTP API's contract: the document itself, its
agreement with the route table of api/api_server.c, the copy the binary
serves, and the response check of kpidtest.Contract (which every other
integration test runs on each answer) shown able to fail.

Needs python3-jsonschema (Debian); without it the tests skip and say so."""
import copy
import json
import os
import re
import shutil
import tempfile
import unittest

import kpidtest
from kpidtest import ROOT, OPENAPI, Contract, ContractError, Server, ndjson

try:
    import jsonschema
except ImportError:
    jsonschema = None

SERVER_C = os.path.join(ROOT, "api", "api_server.c")
ROLES = {"API_ROLE_OPEN": "open", "API_ROLE_READ": "read", "API_ROLE_INGEST": "ingest",
         "API_ROLE_ADMIN": "admin"}
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")

# The part of OpenAPI 3.1 this document uses, written for this test: enough
# to catch a misspelt key, a missing description or a response without a
# status. Schemas inside are checked by the JSON Schema 2020-12 meta-schema.
REF_OR = lambda s: {"oneOf": [{"type": "object", "required": ["$ref"]}, s]}
PARAMETER = {"type": "object", "required": ["name", "in", "schema"],
             "properties": {"name": {"type": "string", "minLength": 1},
                            "in": {"enum": ["query", "path", "header", "cookie"]},
                            "description": {"type": "string"}, "required": {"type": "boolean"},
                            "schema": {"type": ["object", "boolean"]}},
             "additionalProperties": False}
MEDIA = {"type": "object", "additionalProperties": {
    "type": "object", "properties": {"schema": {"type": ["object", "boolean"]}},
    "additionalProperties": False}}
RESPONSE = {"type": "object", "required": ["description"],
            "properties": {"description": {"type": "string"}, "content": MEDIA,
                           "headers": {"type": "object"}},
            "additionalProperties": False}
OPERATION = {"type": "object", "required": ["operationId", "summary", "responses", "x-kpid-role"],
             "properties": {
                 "operationId": {"type": "string", "pattern": "^[A-Za-z][A-Za-z0-9]*$"},
                 "summary": {"type": "string"}, "description": {"type": "string"},
                 "x-kpid-role": {"enum": ["open", "read", "ingest", "admin"]},
                 "parameters": {"type": "array", "items": REF_OR(PARAMETER)},
                 "requestBody": {"type": "object", "required": ["content"],
                                 "properties": {"content": MEDIA, "required": {"type": "boolean"},
                                                "description": {"type": "string"}},
                                 "additionalProperties": False},
                 "responses": {"type": "object", "minProperties": 1,
                               "propertyNames": {"pattern": "^([1-5]([0-9]{2}|XX)|default)$"},
                               "additionalProperties": REF_OR(RESPONSE)},
                 "security": {"type": "array"}},
             "additionalProperties": False}
DOCUMENT = {"type": "object", "required": ["openapi", "info", "paths", "components"],
            "properties": {
                "openapi": {"type": "string", "pattern": "^3\\.1\\.[0-9]+$"},
                "jsonSchemaDialect": {"type": "string"},
                "info": {"type": "object", "required": ["title", "version"]},
                "servers": {"type": "array"}, "security": {"type": "array"},
                "paths": {"type": "object",
                          "propertyNames": {"pattern": "^/"},
                          "additionalProperties": {
                              "type": "object",
                              "propertyNames": {"enum": list(METHODS) + ["parameters"]},
                              "additionalProperties": OPERATION}},
                "components": {"type": "object", "properties": {
                    "schemas": {"type": "object"},
                    "parameters": {"type": "object", "additionalProperties": PARAMETER},
                    "responses": {"type": "object", "additionalProperties": RESPONSE},
                    "securitySchemes": {"type": "object"}},
                    "additionalProperties": False}},
            "additionalProperties": False}


def load_doc():
    with open(OPENAPI, encoding="utf-8") as f:
        return json.load(f)


def c_routes():
    """(METHOD, openapi path, params array name, role) from the route table."""
    with open(SERVER_C, encoding="utf-8") as f:
        src = f.read()
    table = src[src.index("static const api_route_t routes[] = {"):]
    table = table[:table.index("};")]
    out = []
    for m in re.finditer(r'\{"([A-Z]+)",\s*"([^"]+)",\s*\w+,\s*\w+,\s*(\w+),\s*(API_ROLE_\w+)',
                         table):
        method, path, params, role = m.groups()
        if path.endswith("/") and len(path) > 1:  # a prefix route: one more segment
            path += {"/v1/customers/": "{id}", "/v1/reports/": "{id}",
                     "/dashboard/": "{name}"}[path]
        out.append((method, path, params, ROLES[role]))
    return out


def c_param_lists():
    """name -> list of query parameter names, from every api/*.c file."""
    lists = {"no_params": []}
    api = os.path.join(ROOT, "api")
    for fn in os.listdir(api):
        if not fn.endswith(".c"):
            continue
        with open(os.path.join(api, fn), encoding="utf-8") as f:
            src = f.read()
        for m in re.finditer(r"const char \*const (\w+)\[\] = \{([^}]*)\};", src):
            lists[m.group(1)] = re.findall(r'"([^"]+)"', m.group(2))
    return lists


def walk(obj, path=()):
    """Every (path, dict) in a JSON tree."""
    if isinstance(obj, dict):
        yield path, obj
        for k, v in obj.items():
            yield from walk(v, path + (k,))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from walk(v, path + (i,))


@unittest.skipIf(jsonschema is None, "python3-jsonschema not installed (Debian package "
                 "python3-jsonschema, run with /usr/bin/python3): docs/openapi.json not validated")
class DocumentTest(unittest.TestCase):
    def setUp(self):
        self.doc = load_doc()
        self.resolver = jsonschema.RefResolver.from_schema(self.doc)

    def resolve(self, obj):
        while isinstance(obj, dict) and "$ref" in obj:
            _, obj = self.resolver.resolve(obj["$ref"])
        return obj

    def test_document_shape(self):
        jsonschema.Draft202012Validator(DOCUMENT).validate(self.doc)

    def test_every_ref_resolves_and_every_schema_is_valid(self):
        for where, node in walk(self.doc):
            if "$ref" in node:
                try:
                    self.resolver.resolve(node["$ref"])
                except jsonschema.RefResolutionError as e:
                    self.fail("%s: %s" % ("/".join(map(str, where)), e))
        schemas = list(self.doc["components"]["schemas"].values())
        for where, node in walk(self.doc["paths"]):
            if "schema" in node and isinstance(node["schema"], dict):
                schemas.append(node["schema"])
        for s in schemas:
            jsonschema.Draft202012Validator.check_schema(s)

    def test_operation_ids_unique_and_path_parameters_declared(self):
        ids = []
        for template, item in self.doc["paths"].items():
            for method, op in item.items():
                ids.append(op["operationId"])
                params = [self.resolve(p) for p in op.get("parameters", [])]
                in_path = {p["name"] for p in params if p["in"] == "path"}
                self.assertEqual(in_path, set(re.findall(r"\{([^}]+)\}", template)),
                                 (method, template))
                for p in params:
                    if p["in"] == "path":
                        self.assertTrue(p.get("required"), (template, p["name"]))
        self.assertEqual(len(ids), len(set(ids)), ids)

    def test_matches_the_route_table(self):
        """Every routed endpoint is documented with its role and exactly the
        query parameters the server accepts, and nothing else is documented."""
        lists = c_param_lists()
        routed = set()
        for method, path, params, role in c_routes():
            routed.add((method.lower(), path))
            op = self.doc["paths"].get(path, {}).get(method.lower())
            self.assertIsNotNone(op, "%s %s is routed but not in docs/openapi.json" %
                                 (method, path))
            self.assertEqual(op["x-kpid-role"], role, (method, path))
            self.assertEqual(op.get("security") == [{}], role == "open", (method, path))
            if params == "NULL":
                continue  # any parameter (the dashboard keeps its filters in the URL)
            doc_q = sorted(self.resolve(p)["name"] for p in op.get("parameters", [])
                           if self.resolve(p)["in"] == "query")
            self.assertEqual(doc_q, sorted(lists[params]), (method, path))
        documented = {(m, p) for p, item in self.doc["paths"].items() for m in item}
        self.assertEqual(documented - routed, set(), "documented but not routed")

    def test_every_json_answer_has_an_error_answer(self):
        for template, item in self.doc["paths"].items():
            for method, op in item.items():
                self.assertIn("default", op["responses"], (method, template))


@unittest.skipIf(jsonschema is None, "python3-jsonschema not installed: contract checks skipped")
class ServedTest(kpidtest.ServerTest):
    def test_served_document_is_docs_openapi_json(self):
        st, body, raw = self.srv.get("/v1/openapi.json")
        self.assertEqual(st, 200)
        with open(OPENAPI, "rb") as f:
            self.assertEqual(raw, f.read())
        self.assertEqual(self.srv.last_headers["Content-Type"], "application/json")
        etag = self.srv.last_headers["ETag"]
        st, _, raw = self.srv.get("/v1/openapi.json", headers={"If-None-Match": etag})
        self.assertEqual((st, raw), (304, b""))
        # One URL per document: the dashboard's asset path does not serve it.
        self.assertEqual(self.srv.get("/dashboard/openapi.json")[0], 404)

    def test_checker_fails_on_a_wrong_schema(self):
        """The check every test runs is real: with a schema that disagrees
        with the server (Money as a number, a required field the answer
        lacks, an undocumented status) the same answers raise."""
        self.srv.post("/v1/events", ndjson([
            {"id": "c1", "type": "invoice.issued", "time": "2025-03-01", "invoice": "I-1",
             "customer": "ACME", "amount": "100.00", "terms_days": 30}]))
        self.srv.check_contract = False  # answers are checked below, by hand
        st, body, _ = self.srv.get("/v1/aging?as_of=2025-03-31")
        st_err, err, _ = self.srv.get("/v1/aging?as_of=nope")
        Contract().check("GET", "/v1/aging", st, "application/json", body)  # as documented

        doc = load_doc()
        broken = copy.deepcopy(doc)
        broken["components"]["schemas"]["Money"] = {"type": "number"}
        self.assert_rejects(broken, "GET", "/v1/aging", st, body, "is not of type 'number'")
        broken = copy.deepcopy(doc)
        broken["components"]["schemas"]["Aging"]["required"].append("overdue_share")
        self.assert_rejects(broken, "GET", "/v1/aging", st, body, "'overdue_share' is a required")
        broken = copy.deepcopy(doc)
        del broken["paths"]["/v1/aging"]["get"]["responses"]["400"]
        del broken["paths"]["/v1/aging"]["get"]["responses"]["default"]
        self.assert_rejects(broken, "GET", "/v1/aging?as_of=nope", st_err, err,
                            "status 400 is not documented")
        broken = copy.deepcopy(doc)
        broken["components"]["schemas"]["Error"]["properties"]["error"]["properties"]["code"][
            "enum"].remove("bad_parameter")
        self.assert_rejects(broken, "GET", "/v1/aging?as_of=nope", st_err, err,
                            "is not one of")

    def assert_rejects(self, doc, method, path, status, body, message):
        tmp = tempfile.mkdtemp(prefix="kpid-openapi-")
        try:
            p = os.path.join(tmp, "openapi.json")
            with open(p, "w") as f:
                json.dump(doc, f)
            with self.assertRaises(ContractError) as cm:
                Contract(p).check(method, path, status, "application/json", body)
            self.assertIn(message, str(cm.exception))
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    kpidtest.parse_args()
    unittest.main()
