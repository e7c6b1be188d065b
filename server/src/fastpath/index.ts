export { recordRoutes, type MethodTable } from "./method-table.ts";
export { createFastPath, type FastPath } from "./fast-path.ts";
export type { FastPathOptions } from "./fast-method.ts";
