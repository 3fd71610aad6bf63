// Bundle the modeler (index.js) into node_modules/.aduan/, where api/web/vendor.py serves it from.
// Run by `npm ci` (package.json "postinstall"); nothing it writes is committed.
import { build } from "esbuild";
import { fileURLToPath } from "node:url";
import path from "node:path";

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, "..", "..", "..");

await build({
  entryPoints: [path.join(here, "index.js")],
  bundle: true,
  minify: true,
  format: "iife",
  globalName: "AduanBpmn",
  target: ["es2019"],
  outfile: path.join(root, "node_modules", ".aduan", "modeler.js"),
  logLevel: "warning",
});
