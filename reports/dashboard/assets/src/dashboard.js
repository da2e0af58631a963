// The dashboard's only script (the page allows no inline script): draws every chart whose data
// the server rendered into <script type="application/json" data-chart="<canvas id>">, and shows
// the progress bar while the next page's figures are computed.
import {
  BarController, BarElement, CategoryScale, Chart, Filler, Legend, LinearScale, LineController,
  LineElement, PointElement, Tooltip,
} from 'chart.js'
import { MatrixController, MatrixElement } from 'chartjs-chart-matrix'

Chart.register(BarController, BarElement, CategoryScale, Filler, Legend, LinearScale,
  LineController, LineElement, PointElement, Tooltip, MatrixController, MatrixElement)

const COLOURS = ['#2563eb', '#f97316', '#16a34a', '#9333ea', '#dc2626', '#0891b2']
const number = new Intl.NumberFormat('en')
const percent = new Intl.NumberFormat('en', { style: 'percent', maximumFractionDigits: 1 })

Chart.defaults.animation = false // drawn at once: nothing moves under the reader (or a test)
Chart.defaults.maintainAspectRatio = false
Chart.defaults.font.family = getComputedStyle(document.documentElement).fontFamily

const series = (spec, type) =>
  spec.series.map((s, i) => ({
    label: s.label,
    data: s.values,
    backgroundColor: COLOURS[i % COLOURS.length] + (type === 'line' ? '33' : 'cc'),
    borderColor: COLOURS[i % COLOURS.length],
    borderWidth: type === 'line' ? 2 : 0,
    pointRadius: spec.labels.length > 40 ? 0 : 2,
  }))

const configs = {
  line: (spec) => ({
    type: 'line',
    data: { labels: spec.labels, datasets: series(spec, 'line') },
    options: { interaction: { mode: 'index', intersect: false }, scales: { y: { beginAtZero: true } } },
  }),
  bar: (spec) => ({
    type: 'bar',
    data: { labels: spec.labels, datasets: series(spec, 'bar') },
    options: {
      indexAxis: 'y',
      plugins: { legend: { display: spec.series.length > 1 } },
      scales: { x: { beginAtZero: true } },
    },
  }),
  // A value and its interval per label (a campaign's lift): a floating bar from low to high,
  // the value a point on it.
  interval: (spec) => ({
    type: 'bar',
    data: {
      labels: spec.labels,
      datasets: [
        {
          type: 'line', label: spec.label, data: spec.values, showLine: false, pointRadius: 5,
          borderColor: COLOURS[1], backgroundColor: COLOURS[1],
        },
        {
          label: '95 % interval', data: spec.low.map((low, i) => [low, spec.high[i]]),
          backgroundColor: COLOURS[0] + '44', borderColor: COLOURS[0], borderWidth: 1,
        },
      ],
    },
    options: {
      plugins: {
        tooltip: { callbacks: { label: (item) => item.dataset.type === 'line'
          ? `${spec.label}: ${percent.format(item.raw)}`
          : `95 %: ${percent.format(item.raw[0])} to ${percent.format(item.raw[1])}` } },
      },
      scales: { y: { ticks: { callback: (value) => percent.format(value) } } },
    },
  }),
  // Days: the actual series, then the forecast and its interval as a band.
  band: (spec) => ({
    type: 'line',
    data: {
      labels: spec.labels,
      datasets: [
        { label: 'Actual', data: spec.actual, borderColor: COLOURS[0], backgroundColor: COLOURS[0],
          borderWidth: 2, pointRadius: spec.labels.length > 40 ? 0 : 2 },
        { label: 'Forecast', data: spec.forecast, borderColor: COLOURS[1], backgroundColor: COLOURS[1],
          borderWidth: 2, borderDash: [6, 4], pointRadius: 0 },
        { label: 'low', data: spec.low, borderWidth: 0, pointRadius: 0, fill: false },
        { label: '95 % interval', data: spec.high, borderWidth: 0, pointRadius: 0,
          backgroundColor: COLOURS[1] + '33', fill: '-1' },
      ],
    },
    options: {
      interaction: { mode: 'index', intersect: false },
      plugins: { legend: { labels: { filter: (item) => item.text !== 'low' } } },
      scales: { y: { beginAtZero: true } },
    },
  }),
  heatmap: (spec) => {
    const top = Math.max(...spec.cells.map((c) => c.v), 0.0001)
    return {
      type: 'matrix',
      data: {
        datasets: [{
          label: 'Share of visitors',
          data: spec.cells,
          backgroundColor: (c) => `rgba(37, 99, 235, ${0.08 + 0.92 * ((c.raw?.v ?? 0) / top)})`,
          borderColor: '#ffffff',
          borderWidth: 1,
          width: ({ chart }) => (chart.chartArea || {}).width / spec.x.length - 1,
          height: ({ chart }) => (chart.chartArea || {}).height / spec.y.length - 1,
        }],
      },
      options: {
        plugins: {
          legend: { display: false },
          tooltip: {
            callbacks: {
              title: (items) => `${items[0].raw.y} — ${items[0].raw.x}`,
              label: (item) => `${percent.format(item.raw.v)} of visitors (${number.format(item.raw.n)})`,
            },
          },
        },
        scales: {
          x: { type: 'category', labels: spec.x, offset: true, grid: { display: false } },
          y: { type: 'category', labels: spec.y, offset: true, grid: { display: false } },
        },
      },
    }
  },
}

export const charts = []
for (const data of document.querySelectorAll('script[type="application/json"][data-chart]')) {
  const spec = JSON.parse(data.textContent)
  const canvas = document.getElementById(data.dataset.chart)
  if (!canvas || !configs[spec.type]) continue
  charts.push(new Chart(canvas, configs[spec.type](spec)))
}
window.clicktrailCharts = charts

// Progress: the browser keeps the old page while the server computes the next one's figures;
// say so, instead of a page that looks frozen.
const loading = () => document.body.classList.add('loading')
document.addEventListener('submit', loading)
document.addEventListener('click', (event) => {
  const link = event.target.closest && event.target.closest('a[href]')
  if (link && link.origin === location.origin && !event.ctrlKey && !event.metaKey && !event.shiftKey) loading()
})
window.addEventListener('pageshow', () => document.body.classList.remove('loading'))
// A changed filter applies at once.
for (const select of document.querySelectorAll('form.filters select')) {
  select.addEventListener('change', () => select.form.requestSubmit())
}
