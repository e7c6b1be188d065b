import { useQuery } from "@tanstack/react-query";
import { Badge, ErrorMessage, Loading, Panel } from "../../components/status.tsx";
import { serverBaseUrl } from "../../lib/transport.ts";
import { exampleOf, operationsByTag, schemaName, type OpenApiDocument, type OpenApiSchema, type Operation } from "./openapi.ts";

/**
 * API reference: the REST routes of the server's /openapi.json (generated
 * from the google.api.http rules), grouped by service, with their parameters,
 * bodies and a curl line to copy. Bundled; nothing is loaded from a CDN.
 */
export function ApiPage() {
  const base = serverBaseUrl();
  const doc = useQuery({
    queryKey: ["openapi.json", base],
    queryFn: async () => {
      const res = await fetch(`${base}/openapi.json`);
      if (!res.ok) throw new Error(`GET /openapi.json: HTTP ${res.status}`);
      return (await res.json()) as OpenApiDocument;
    },
    staleTime: Infinity,
  });
  return (
    <div className="page">
      <div className="page-head">
        <h1>REST API</h1>
        <p className="lede">
          Resource URLs for curl and HTTP tools, transcoded from the contracts&apos; <code>google.api.http</code> rules on
          this same port. The machine-readable document is <a href={`${base}/openapi.json`}>/openapi.json</a> (OpenAPI 3.1).
        </p>
      </div>
      {doc.isPending ? <Loading /> : null}
      {doc.isError ? <ErrorMessage error={doc.error} prefix="Cannot load the OpenAPI document" /> : null}
      {doc.data
        ? [...operationsByTag(doc.data)].map(([tag, ops]) => (
            <Panel key={tag} title={tag} id={`api-${tag.replace(/\W/g, "-")}`}>
              <ul className="api-ops">
                {ops.map((o) => (
                  <OperationView key={`${o.method} ${o.path}`} doc={doc.data} o={o} base={base} />
                ))}
              </ul>
            </Panel>
          ))
        : null}
    </div>
  );
}

function OperationView({ doc, o, base }: { doc: OpenApiDocument; o: Operation; base: string }) {
  const params = o.op.parameters ?? [];
  const body = o.op.requestBody?.content["application/json"]?.schema;
  const ok = o.op.responses["200"];
  const [okType, okContent] = Object.entries(ok?.content ?? {})[0] ?? [];
  const streaming = okType === "application/x-ndjson";
  const okSchema = streaming ? okContent?.schema.properties?.result : okContent?.schema;
  const curl = [
    "curl",
    o.method !== "GET" ? `-X ${o.method}` : "",
    streaming ? "-N" : "",
    `${base}${o.path}`,
    body ? `-d '${JSON.stringify(exampleOf(doc, body))}'` : "",
  ]
    .filter(Boolean)
    .join(" ");
  return (
    <li className="api-op" data-testid="api-operation">
      <div className="api-op-head">
        <Badge tone={o.method === "GET" ? "info" : "ok"}>{o.method}</Badge>
        <code className="api-path">{o.path}</code>
        <span className="muted">{o.op.operationId.replace("_", ".")}</span>
      </div>
      {o.op.description ? <p className="api-desc">{o.op.description}</p> : null}
      {params.length > 0 ? (
        <div className="table-wrap">
          <table className="data api-params" aria-label={`Parameters of ${o.method} ${o.path}`}>
            <thead>
              <tr>
                <th scope="col">Parameter</th>
                <th scope="col">In</th>
                <th scope="col">Type</th>
                <th scope="col">Description</th>
              </tr>
            </thead>
            <tbody>
              {params.map((p) => (
                <tr key={`${p.in}:${p.name}`}>
                  <td className="mono">{p.name}</td>
                  <td>{p.in}</td>
                  <td className="mono">{typeText(p.schema)}</td>
                  <td>{p.description}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      <p className="hint">
        {body ? (
          <>
            Body: <code>{schemaName(body)}</code> (JSON).{" "}
          </>
        ) : null}
        Response: <code>{schemaName(okSchema)}</code>
        {streaming ? " — streamed as NDJSON, one {\"result\": …} per line" : ""}. Errors: google.rpc.Status.
      </p>
      <pre className="api-curl">
        <code>{curl}</code>
      </pre>
    </li>
  );
}

/** A parameter's type: enum values spelled out; repeated ones marked. */
function typeText(s: OpenApiSchema): string {
  if (s.enum) return s.enum.join(" | ");
  if (s.type === "array") return `${typeText(s.items ?? {})} (repeatable)`;
  return schemaName(s);
}
