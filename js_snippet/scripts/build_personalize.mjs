// Builds dist/clicktrail-personalize.min.js (personalize/, docs/snippet.md) and prints its
// sizes, as scripts/build.mjs does for the core: esbuild bundles, terser compresses, the build
// wraps it in one function scope; sizes are counted as `gzip -9 <file>` counts them.
//
// It is loaded only on pages that personalize, so its budget is its own (BUDGET_GZIP), apart
// from the core's.
// `--check` fails over it; `--out=<file>` writes elsewhere (the freshness test);
// `--sizes=<file>` writes the sizes as JSON.

import { build } from 'esbuild'
import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { minify } from 'terser'

export const BUDGET_GZIP = 2304 // 2.25 KiB: about 2.1 KiB today (docs/snippet.md)

const root = dirname(dirname(fileURLToPath(import.meta.url)))
const option = (name) => process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1]

const bundle = async (minify) => {
  const result = await build({
    entryPoints: [join(root, 'personalize/index.js')],
    bundle: true,
    format: 'esm',
    target: 'es2020',
    minify,
    write: false,
    legalComments: 'none',
  })
  return Buffer.from(result.outputFiles[0].contents)
}

const raw = await bundle(false)
const terse = await minify((await bundle(true)).toString(), {
  ecma: 2020,
  toplevel: true,
  compress: { passes: 3, unsafe: true, unsafe_arrows: true, pure_getters: true },
  module: true,
})
const min = Buffer.from(`(()=>{${terse.code}})()`)
const named = join(mkdtempSync(join(tmpdir(), 'ctp-')), 'clicktrail-personalize.min.js')
writeFileSync(named, min)
const gzip = execFileSync('gzip', ['-9', '-c', named]).length
rmSync(dirname(named), { recursive: true })

const out = option('out') || join(root, 'dist/clicktrail-personalize.min.js')
console.log(`${out}: raw ${raw.length} B, minified ${min.length} B, gzip -9 ${gzip} B (budget ${BUDGET_GZIP})`)
if (option('sizes')) writeFileSync(option('sizes'), JSON.stringify({ raw: raw.length, min: min.length, gzip, budget: BUDGET_GZIP }) + '\n')
if (process.argv.includes('--check') && gzip > BUDGET_GZIP) {
  console.error(`FAIL: ${gzip} B gzipped is over the budget of ${BUDGET_GZIP} B`)
  process.exit(1)
}
mkdirSync(dirname(out), { recursive: true })
writeFileSync(out, min)
