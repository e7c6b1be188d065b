import { test } from "node:test";
import assert from "node:assert/strict";
import { matchPath, openApiPath, parsePathTemplate } from "./path-template.ts";

const match = (template: string, path: string) => {
  const m = matchPath(parsePathTemplate(template), path);
  return m === undefined ? undefined : Object.fromEntries(m);
};

test("variables: {id} is one segment, percent-decoded", () => {
  assert.deepEqual(match("/v1/orders/{id}", "/v1/orders/102"), { id: "102" });
  assert.deepEqual(match("/v1/orders/{id}", "/v1/orders/a%2Fb%20c"), { id: "a/b c" });
  assert.equal(match("/v1/orders/{id}", "/v1/orders/1/2"), undefined);
  assert.equal(match("/v1/orders/{id}", "/v1/orders/"), undefined);
  assert.equal(match("/v1/orders/{id}", "/v1/orders"), undefined);
  assert.equal(match("/v1/orders/{id}", "/v1/orders/%zz"), undefined, "bad escape: no match");
});

test("custom verbs are split off the last segment", () => {
  const t = parsePathTemplate("/v1/tasks/{task_id}:cancel");
  assert.equal(t.verb, "cancel");
  assert.deepEqual(match("/v1/tasks/{task_id}:cancel", "/v1/tasks/abc:cancel"), { task_id: "abc" });
  assert.equal(match("/v1/tasks/{task_id}:cancel", "/v1/tasks/abc"), undefined);
  assert.deepEqual(match("/v1/tasks:watch", "/v1/tasks:watch"), {});
  assert.equal(match("/v1/tasks", "/v1/tasks:watch"), undefined);
});

test("* and ** segments, variables with sub-templates and nested field paths", () => {
  assert.deepEqual(match("/v1/{name=shelves/*/books/*}", "/v1/shelves/s1/books/b2"), { name: "shelves/s1/books/b2" });
  assert.equal(match("/v1/{name=shelves/*/books/*}", "/v1/shelves/s1/cds/b2"), undefined);
  assert.deepEqual(match("/v1/files/{path=**}", "/v1/files/a/b/c.txt"), { path: "a/b/c.txt" });
  assert.deepEqual(match("/v1/*/x/{a.b}", "/v1/any/x/7"), { "a.b": "7" });
  assert.deepEqual(match("/v1/static/**", "/v1/static/deep/er"), {});
  assert.throws(() => parsePathTemplate("/v1/**/x"), /"\*\*" must be the last segment/);
  assert.throws(() => parsePathTemplate("v1/x"), /must start with "\/"/);
  assert.throws(() => parsePathTemplate("/v1/{bad-name}"), /bad field path/);
  assert.throws(() => parsePathTemplate("/v1//x"), /empty segment/);
});

test("OpenAPI paths name every variable", () => {
  assert.equal(openApiPath(parsePathTemplate("/v1/tasks/{task_id}:cancel")), "/v1/tasks/{task_id}:cancel");
  assert.equal(openApiPath(parsePathTemplate("/v1/{name=shelves/*}/books")), "/v1/{name}/books");
});
