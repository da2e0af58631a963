// Nothing the snippet does may throw into the host page: every entry point (public call,
// event listener, timer, promise callback) runs through `safe`, which reports and swallows;
// `attempt` is for browser APIs that throw when blocked (storage in sandboxed frames).

export const warn = (...args) => console.warn('clicktrail:', ...args)

export const safe =
  (fn) =>
  (...args) => {
    try {
      return fn(...args)
    } catch (error) {
      warn(error)
    }
  }

export const attempt = (fn) => {
  try {
    return fn()
  } catch {}
}

// A listener whose errors are warned about, never thrown into the host page.
export const on = (target, type, fn, options) => target.addEventListener(type, safe(fn), options)
