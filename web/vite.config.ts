import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

// The generated stubs (@switchboard/gen) and the shared helpers
// (@switchboard/common) are workspace packages: npm links them into
// node_modules and Vite follows the links to ../gen and ../common (hence
// `fs.allow`). They import @bufbuild/protobuf and connect from the root
// node_modules. `dedupe` makes the app, gen and connect-query share
// one copy of protobuf, connect and React (workspaces may hoist different
// versions to different node_modules folders; two copies of ConnectError
// would break `instanceof` and error details).
export default defineConfig({
  plugins: [react()],
  resolve: {
    dedupe: ["@bufbuild/protobuf", "@connectrpc/connect", "@tanstack/react-query", "react", "react-dom"],
  },
  server: {
    // `npm run dev`: Vite on :5173 with hot reload; the app calls the server on
    // :8080 directly (the server allows this origin through CORS by default).
    port: 5173,
    strictPort: true,
    fs: { allow: [".."] },
  },
  build: { outDir: "dist", emptyOutDir: true, sourcemap: true, chunkSizeWarningLimit: 1000 },
});
