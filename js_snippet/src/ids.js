// Identifiers. A blob URL ends with a random UUID that the browser makes (in every context,
// https or not, and in Node): the shortest source of one. Events, page views, sessions and
// visitors all use it; a UUID is within the protocol's id characters ([A-Za-z0-9_-]{1,64}).
export const uuid = () => URL.createObjectURL(new Blob()).slice(-36)
