// The visitor's consent, judged as the core judges it (src/storage.js), from the same inputs:
// the page's `init` (consent: 'required', dnt), the stored choice `_ct_c` and the browser's
// privacy signals. Pure.

// { mayStore: may the visitor's id be used, consent: what the decision request says }.
// `consent` is true (granted), false (refused, a signal the site honours, or required and not
// given) or undefined (nothing chosen and nothing required: the site's policy decides).
export const judge = (config, choice, signal) => {
  const honoured = config.dnt !== false && signal
  const mayStore = choice == '1' || !(config.consent == 'required' || choice || honoured)
  return { mayStore, consent: mayStore ? (choice == '1' ? true : undefined) : false }
}
