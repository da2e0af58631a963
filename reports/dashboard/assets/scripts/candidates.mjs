// Measures the chart library candidates for the dashboard's charts (line, bar, heat map): each
// one's smallest bundle of just those charts (tree-shaken imports), minified by esbuild, and its
// `gzip -9` size. The candidates are not dependencies of the dashboard; install them beside
// esbuild first:
//   mkdir /tmp/cand && cd /tmp/cand && npm init -y && \
//   npm install echarts@6.1.0 uplot@1.6.32 chart.js@4.6.1 chartjs-chart-matrix@3.1.0 esbuild@0.28.2
//   node <this file> /tmp/cand
// docs/dashboard.md records the figures and the choice.
import { execFileSync } from 'node:child_process'
import { createRequire } from 'node:module'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const from = process.argv[2]
const { build } = createRequire(join(from, 'package.json'))('esbuild')
const CANDIDATES = {
  'chart.js 4.6.1 + chartjs-chart-matrix 3.1.0 (line, bar, matrix heat map)': `
    import { Chart, LineController, BarController, LineElement, BarElement, PointElement,
      LinearScale, CategoryScale, Tooltip, Legend, Filler } from 'chart.js'
    import { MatrixController, MatrixElement } from 'chartjs-chart-matrix'
    Chart.register(LineController, BarController, LineElement, BarElement, PointElement,
      LinearScale, CategoryScale, Tooltip, Legend, Filler, MatrixController, MatrixElement)
    window.Chart = Chart`,
  'echarts 6.1.0 custom build (line, bar, heatmap, grid, tooltip, visualMap, legend, canvas)': `
    import * as echarts from 'echarts/core'
    import { LineChart, BarChart, HeatmapChart } from 'echarts/charts'
    import { GridComponent, TooltipComponent, VisualMapComponent, LegendComponent } from 'echarts/components'
    import { CanvasRenderer } from 'echarts/renderers'
    echarts.use([LineChart, BarChart, HeatmapChart, GridComponent, TooltipComponent,
      VisualMapComponent, LegendComponent, CanvasRenderer])
    window.echarts = echarts`,
  'uplot 1.6.32 (lines and bars only: no heat map)': `
    import uPlot from 'uplot'
    window.uPlot = uPlot`,
}
const folder = mkdtempSync(join(tmpdir(), 'ct-charts-'))
const figures = {}
for (const [name, contents] of Object.entries(CANDIDATES)) {
  const result = await build({
    stdin: { contents, resolveDir: from },
    bundle: true, minify: true, format: 'iife', target: 'es2020', write: false, legalComments: 'none',
    define: { 'process.env.NODE_ENV': '"production"' },
  })
  const file = join(folder, 'bundle.min.js')
  writeFileSync(file, result.outputFiles[0].contents)
  const gzip = execFileSync('gzip', ['-9', '-c', file]).length
  figures[name] = { min: result.outputFiles[0].contents.length, gzip }
  console.log(`${name}: ${result.outputFiles[0].contents.length} B minified, ${gzip} B gzip -9`)
}
console.log(JSON.stringify(figures))
