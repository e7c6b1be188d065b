#!/usr/bin/env node
// protoc-gen-openapi: writes openapi.json (OpenAPI 3.1) from the
// google.api.http rules of the files to generate. Run by `buf generate` (see
// buf.gen.yaml) as a local plugin with Node 24, which runs this .ts directly.
import { createEcmaScriptPlugin, runNodeJs } from "@bufbuild/protoplugin";
import { buildOpenApi } from "./openapi.ts";

runNodeJs(
  createEcmaScriptPlugin({
    name: "protoc-gen-openapi",
    version: "v1",
    generateTs(schema) {
      const doc = buildOpenApi(schema.files, schema.allFiles);
      const f = schema.generateFile("openapi.json");
      f.print(JSON.stringify(doc, null, 2));
    },
  }),
);
