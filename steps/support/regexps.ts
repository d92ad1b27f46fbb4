// The parameter types' regular expressions, kept free of Cucumber so unit tests can build the same
// expressions the run registers (steps/support/parameters.ts) and check the catalogue against them.
const QUOTED = String.raw`"[^"]*"|「[^」]*」`;
/** A number, in ASCII or full-width digits (what a Japanese IME may type); the transformers read both. */
const NUM = String.raw`[\d０-９]+(?:[.．][\d０-９]+)?`;

export const PARAM_REGEXPS = {
  lab: `${QUOTED}|[a-z][a-z0-9-]*`,
  host: `${QUOTED}|[A-Za-z][A-Za-z0-9_.-]*`,
  target: `${QUOTED}|[A-Za-z0-9:][A-Za-z0-9_.:-]*`,
  link: `${QUOTED}|[A-Za-z0-9][A-Za-z0-9_.:-]*`,
  duration: String.raw`${NUM}\s?(?:ミリ秒|秒|分|ms|milliseconds?|seconds?|sec|s|minutes?|min)`,
  percent: String.raw`${NUM}\s?(?:%|％|パーセント|percent)`,
  rate: String.raw`${NUM}\s?[kKmMgG]?(?:bit\/s|bits\/s|bps|bit)`,
  url: `${QUOTED}|https?:\\/\\/[^\\s"」]+`,
  qtype: '[A-Z][A-Z0-9]*',
  domain: `${QUOTED}|[A-Za-z0-9_*](?:[A-Za-z0-9_.*-]*[A-Za-z0-9_.])?|\\.`,
  rcode: '[A-Z][A-Za-z]*',
  value: `${QUOTED}|[A-Za-z0-9:][A-Za-z0-9_.:-]*`,
  address: `${QUOTED}|[A-Za-z0-9:][A-Za-z0-9_.:-]*`,
  hex: '0[xX][0-9A-Fa-f]{1,4}|\\d+',
  file: `${QUOTED}|[A-Za-z0-9_.][A-Za-z0-9_./-]*`,
  prefix: `${QUOTED}|[0-9A-Fa-f:.]+\\/\\d{1,3}`,
  protocol: 'OSPF|BGP|BFD|ospf|bgp|bfd',
  state: '[A-Za-z][A-Za-z/-]*',
  command: QUOTED,
  text: QUOTED,
} as const;

export type ParamName = keyof typeof PARAM_REGEXPS;
