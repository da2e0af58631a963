// Builds dist/clicktrail.min.js (the core) and dist/clicktrail-linker.min.js (the linker file,
// src/decorate.js: loaded on demand by the core, only on pages whose init names `domains`) and
// prints their sizes: esbuild bundles and drops disabled features, terser then compresses
// further (it saves ~3% gzipped over esbuild's minifier).
//
// `--check` fails above either file's size budget, and on growth of more than GROWTH_GZIP bytes
// over the size recorded in size.json (the committed files') unless `--bump` says the growth is
// meant; a checked build of the shipped files records their sizes there, so each change shows
// its size. `--without=spa,engage,clicks,linker,pixel` drops optional features (compile-time
// flags, so the minifier removes their code; without linker, or clicks, which loads it, no
// linker file is built); `--out=<file>` writes the core elsewhere and records nothing (the
// freshness test), `--linker-out=<file>` the linker file (only written with --out when named);
// `--sizes=<file>` writes the sizes as JSON; `--order=a,b,...` bundles the core's modules in
// another order (scripts/order.mjs).

import { build } from 'esbuild'
import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { minify } from 'terser'

// Issue 11 set the target at 2,400 B with every feature (ARCHITECTURE.md, "Where the bytes
// go"): reached by moving link decoration to the linker file and the landing page's check of
// `_ct` to the collector.
export const TARGET_GZIP = 2400
export const BUDGET_GZIP = 2400
export const GOAL_GZIP = 2048
export const GROWTH_GZIP = 32 // bytes a change may add to the recorded size without --bump
export const FEATURES = ['spa', 'engage', 'clicks', 'linker', 'pixel']
// The linker file's own budget: only pages that link domains load it, after the core.
export const LINKER_BUDGET_GZIP = 640

// The order of the modules in the bundle (each one's imports still come before it, index.js,
// the only one that runs anything, last): gzip codes a repeat in fewer bits the closer it is
// to its first occurrence, so the order moves the gzipped size by ~20 B with the same code.
// `node scripts/order.mjs` searches for a better one.
const ORDER = 'safe,session,envelope,pixel,transport,ids,storage,clicks,events,engage,page,linker,queue,index'

const root = dirname(dirname(fileURLToPath(import.meta.url)))
const RECORD = join(root, 'size.json')
const option = (name) => process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1]
const flag = (name) => process.argv.includes(`--${name}`)
const without = (option('without') || '').split(',').filter(Boolean)
const order = (option('order') || ORDER).split(',')
for (const name of without) if (!FEATURES.includes(name)) throw Error(`unknown feature ${name}; known: ${FEATURES}`)

// esbuild's bundle of `stdin` (the core: its modules in order) or of one entry point (the
// linker file, an ES module with one default export).
const bundle = async (minify, entry) => {
  const result = await build({
    ...(entry
      ? { entryPoints: [join(root, entry)] }
      : { stdin: { contents: order.map((name) => `import './src/${name}.js'`).join('\n'), resolveDir: root } }),
    bundle: true,
    format: 'esm', // the core has no exports: terser then sees one module scope, wrapped below
    target: 'es2020',
    minify,
    write: false,
    legalComments: 'none',
    define: Object.fromEntries(FEATURES.map((f) => [`CT_${f.toUpperCase()}`, String(!without.includes(f))])),
  })
  return Buffer.from(result.outputFiles[0].contents)
}

// Counted as `gzip -9 <file>` counts it (GNU gzip, its header naming the file), which is how
// anyone checks the budget; zlib in memory, without the name, counted 14 bytes fewer.
// The stored name is always the shipped one, so a build to --out counts the same.
const gzipped = (bytes, name) => {
  const named = join(mkdtempSync(join(tmpdir(), 'ct-')), name)
  writeFileSync(named, bytes)
  const size = execFileSync('gzip', ['-9', '-c', named]).length
  rmSync(dirname(named), { recursive: true })
  return size
}

const compile = async (entry, wrap) => {
  const raw = await bundle(false, entry)
  const terse = await minify((await bundle(true, entry)).toString(), {
    ecma: 2020,
    toplevel: true,
    compress: { passes: 3, unsafe: true, unsafe_arrows: true, pure_getters: true },
    module: true,
  })
  return { raw, min: Buffer.from(wrap(terse.code)) }
}

// The core in its own scope, so no name leaks into the host page; the linker file is a module,
// whose scope is its own already.
const { raw, min } = await compile(null, (code) => `(()=>{${code}})()`)
const gzip = gzipped(min, 'clicktrail.min.js')
const linking = !without.includes('linker') && !without.includes('clicks')
const linker = linking && (await compile('src/decorate.js', (code) => code))
if (linker) linker.gzip = gzipped(linker.min, 'clicktrail-linker.min.js')

const shipped = !option('out') && !without.length
const recorded = existsSync(RECORD) ? JSON.parse(readFileSync(RECORD, 'utf8')) : null
const signed = (n) => (n > 0 ? `+${n}` : String(n))
const problems = []
// Prints one file's sizes, and checks them against its budget and the recorded size.
const report = (out, sizes, budget, recordedGzip, extra) => {
  const change = recordedGzip != null && !without.length ? sizes.gzip - recordedGzip : null
  console.log(
    `${out}: raw ${sizes.raw.length} B, minified ${sizes.min.length} B, gzip -9 ${sizes.gzip} B` +
      (change == null ? '' : ` (recorded ${recordedGzip} B, ${signed(change)})`) +
      ` (budget ${budget}${extra})${without.length ? `, without ${without}` : ''}`,
  )
  if (sizes.gzip > budget) problems.push(`${out}: ${sizes.gzip} B gzipped is over the budget of ${budget} B`)
  if (change > GROWTH_GZIP && !flag('bump'))
    problems.push(
      `${out}: ${signed(change)} B over the recorded ${recordedGzip} B (size.json) is more than one ` +
        `change may add (${GROWTH_GZIP} B): make it smaller, or build with --bump if the growth is meant`,
    )
}
const out = option('out') || join(root, 'dist/clicktrail.min.js')
const linkerOut = option('linker-out') || (!option('out') && join(root, 'dist/clicktrail-linker.min.js'))
report(out, { raw, min, gzip }, BUDGET_GZIP, recorded?.gzip, `, target ${TARGET_GZIP}, goal ${GOAL_GZIP}`)
if (linker) report(linkerOut || 'linker file', linker, LINKER_BUDGET_GZIP, recorded?.linker?.gzip, '')
const numbers = ({ raw, min, gzip }) => ({ raw: raw.length, min: min.length, gzip })
if (option('sizes'))
  writeFileSync(
    option('sizes'),
    JSON.stringify({
      ...numbers({ raw, min, gzip }),
      budget: BUDGET_GZIP,
      target: TARGET_GZIP,
      goal: GOAL_GZIP,
      without,
      linker: linker && { ...numbers(linker), budget: LINKER_BUDGET_GZIP },
    }) + '\n',
  )
if (flag('check') && problems.length) {
  for (const problem of problems) console.error(`FAIL: ${problem}`)
  process.exit(1)
}
mkdirSync(dirname(out), { recursive: true })
writeFileSync(out, min)
if (linker && linkerOut) writeFileSync(linkerOut, linker.min)
if (shipped && flag('check'))
  writeFileSync(RECORD, JSON.stringify({ ...numbers({ raw, min, gzip }), linker: numbers(linker) }, null, 1) + '\n')
