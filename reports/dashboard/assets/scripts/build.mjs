// Builds ../static/dashboard.min.js: src/dashboard.js with just the charts it registers from
// Chart.js and chartjs-chart-matrix (tree-shaken by esbuild, minified), and prints its sizes.
// `--out=<file>` writes elsewhere (the freshness test compares that build with the committed
// file, so the bundle is always what the lockfile's versions build).
import { build } from 'esbuild'
import { execFileSync } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = dirname(dirname(fileURLToPath(import.meta.url)))
const out = process.argv.find((a) => a.startsWith('--out='))?.split('=')[1] ||
  join(root, '..', 'static', 'dashboard.min.js')

const result = await build({
  entryPoints: [join(root, 'src', 'dashboard.js')],
  bundle: true,
  format: 'iife',
  target: 'es2020',
  minify: true,
  write: false,
  legalComments: 'none',
  define: { 'process.env.NODE_ENV': '"production"' },
})
const bytes = result.outputFiles[0].contents
const banner = Buffer.from('/*! Clicktrail dashboard; Chart.js (MIT) and chartjs-chart-matrix (MIT) */\n')
const file = Buffer.concat([banner, Buffer.from(bytes)])
writeFileSync(out, file)
const gzip = execFileSync('gzip', ['-9', '-c', out]).length
console.log(`${out}: ${file.length} B minified, ${gzip} B gzip -9`)
