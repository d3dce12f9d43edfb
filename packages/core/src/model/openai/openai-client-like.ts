/**
 * The part of an `openai` client the adapters call, described by shape, not by class.
 *
 * `OpenAI` has `#private` fields, so TypeScript treats two copies of the class (the host's and
 * the one Steward was built against, or two majors) as unrelated types. Accepting any object with
 * these methods lets `createOpenAIModel({ client })` take the host's own client, whatever copy or
 * major it comes from; the adapters call only the methods below. (`never[]` parameters accept
 * every `create` overload; the request and response shapes are checked at run time by the API.)
 */
export interface OpenAIClientLike {
  readonly chat: { readonly completions: { create(...args: never[]): unknown } };
  readonly responses?: { create(...args: never[]): unknown };
  readonly embeddings?: { create(...args: never[]): unknown };
}
