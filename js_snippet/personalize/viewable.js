// A viewable impression, as the IAB counts one for display: at least half of the element in
// the viewport for one continuous second, on a visible page. The timer starts when half of it
// comes into view and is cancelled when it leaves or the page is hidden; `seen` runs once.
// The browser's IntersectionObserver, timers and document are passed in (Node tests fake them).

export const VIEWABLE_SHARE = 0.5
export const VIEWABLE_MS = 1000

export const watchViewable = (element, seen, { Observer, setTimeout, clearTimeout, doc }) => {
  let timer
  let inView
  let done
  const stop = () => {
    clearTimeout(timer)
    timer = 0
  }
  const start = () => {
    if (inView && !timer && !done && !doc.hidden)
      timer = setTimeout(() => {
        done = 1
        observer.disconnect()
        doc.removeEventListener('visibilitychange', visibility)
        seen()
      }, VIEWABLE_MS)
  }
  const visibility = () => (doc.hidden ? stop() : start())
  const observer = new Observer(
    (entries) => {
      for (const entry of entries) {
        inView = entry.isIntersecting && entry.intersectionRatio >= VIEWABLE_SHARE
        inView ? start() : stop()
      }
    },
    { threshold: VIEWABLE_SHARE },
  )
  observer.observe(element)
  doc.addEventListener('visibilitychange', visibility)
  return () => {
    stop()
    observer.disconnect()
  }
}
