import { NEVER, type core } from "zod";

/**
 * A zod transform from a parser of one field's text: the parser's RangeError becomes an issue on
 * that field (its message is the error's), any other error is a bug and is thrown.
 */
export function parsedField<Out>(parse: (text: string) => Out) {
  return (value: string, ctx: core.$RefinementCtx<string>): Out => {
    try {
      return parse(value);
    } catch (err) {
      if (!(err instanceof RangeError)) throw err;
      ctx.issues.push({ code: "custom", message: err.message, input: value });
      return NEVER;
    }
  };
}
