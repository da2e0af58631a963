// The shared protocol fixtures (tests/fixtures/protocol), read by the Python tests too.
import { readFileSync } from 'node:fs'

export const fixture = (name) =>
  JSON.parse(readFileSync(new URL(`../../tests/fixtures/protocol/${name}`, import.meta.url), 'utf8'))
