/**
 * Normalisation of organisation names, addresses, phones, e-mails and web sites,
 * so that comparators see "Müller & Söhne GmbH" and "MULLER AND SOHNE" as the same name.
 *
 * Every function is pure and total: any string (RTL, CJK, emoji, empty) gives a result.
 */

/** Characters that NFKD does not decompose into base + mark. */
const SPECIAL_LETTERS: Record<string, string> = {
  ß: "ss",
  ẞ: "ss",
  æ: "ae",
  Æ: "ae",
  œ: "oe",
  Œ: "oe",
  ø: "o",
  Ø: "o",
  ł: "l",
  Ł: "l",
  đ: "d",
  Đ: "d",
  ð: "d",
  þ: "th",
  ı: "i",
};
const SPECIAL_RE = /[ßẞæÆœŒøØłŁđĐðþı]/g;

/**
 * Cyrillic and Greek → Latin (a simple letter-by-letter romanisation, close to the Bulgarian
 * Streamlined System and ELOT 743), so "Иванов Транс" meets "Ivanov Trans". Applied after
 * lower-casing and accent stripping.
 */
const TRANSLIT: Record<string, string> = {
  а: "a",
  б: "b",
  в: "v",
  г: "g",
  д: "d",
  е: "e",
  ё: "e",
  ж: "zh",
  з: "z",
  и: "i",
  й: "y",
  к: "k",
  л: "l",
  м: "m",
  н: "n",
  о: "o",
  п: "p",
  р: "r",
  с: "s",
  т: "t",
  у: "u",
  ф: "f",
  х: "h",
  ц: "ts",
  ч: "ch",
  ш: "sh",
  щ: "sht",
  ъ: "a",
  ы: "y",
  ь: "y",
  э: "e",
  ю: "yu",
  я: "ya",
  є: "ye",
  і: "i",
  ї: "yi",
  ґ: "g",
  ј: "j",
  љ: "lj",
  њ: "nj",
  ћ: "c",
  џ: "dz",
  ђ: "dj",
  α: "a",
  β: "v",
  γ: "g",
  δ: "d",
  ε: "e",
  ζ: "z",
  η: "i",
  θ: "th",
  ι: "i",
  κ: "k",
  λ: "l",
  μ: "m",
  ν: "n",
  ξ: "x",
  ο: "o",
  π: "p",
  ρ: "r",
  σ: "s",
  ς: "s",
  τ: "t",
  υ: "y",
  φ: "f",
  χ: "ch",
  ψ: "ps",
  ω: "o",
};
const TRANSLIT_RE = /[\u0400-\u04ff\u0370-\u03ff]/g;
/** Arabic-Indic and Persian digits → ASCII digits. */
const ARABIC_DIGITS_RE = /[\u0660-\u0669\u06f0-\u06f9]/g;

/**
 * Lower case, compatibility-decomposed, accents stripped, Cyrillic and Greek romanised,
 * Arabic-Indic digits made ASCII. Other scripts (CJK, Arabic, Hebrew …) are kept as they are.
 */
const NON_ASCII_RE = /[^\x00-\x7f]/;

export function fold(input: string): string {
  if (!NON_ASCII_RE.test(input)) return input.toLowerCase();
  return input
    .replace(SPECIAL_RE, (c) => SPECIAL_LETTERS[c] ?? c)
    .replace(ARABIC_DIGITS_RE, (c) => String((c.charCodeAt(0) - (c.charCodeAt(0) >= 0x06f0 ? 0x06f0 : 0x0660)) % 10))
    .normalize("NFKD")
    .replace(/\p{M}+/gu, "")
    .toLowerCase()
    .replace(/ου/g, "ou")
    .replace(/αυ/g, "av")
    .replace(/ευ/g, "ev")
    .replace(TRANSLIT_RE, (c) => TRANSLIT[c] ?? c);
}

const CJK = "\\p{Script=Han}\\p{Script=Hiragana}\\p{Script=Katakana}\\p{Script=Hangul}";
const CJK_THEN_LATIN_RE = new RegExp(`([${CJK}])(?=[a-z0-9])`, "gu");
const LATIN_THEN_CJK_RE = new RegExp(`([a-z0-9])(?=[${CJK}])`, "gu");
const CJK_CHAR_RE = new RegExp(`[${CJK}]`, "u");

/** Whether a (folded) string has letters and all of them are Latin. */
export function isLatin(folded: string): boolean {
  return /[a-z]/.test(folded) && !/[^\p{Script=Latin}\P{L}]/u.test(folded);
}

/** Whether a (folded) string has letters and none of them is Latin. */
export function isNonLatin(folded: string): boolean {
  return /\p{L}/u.test(folded) && !/\p{Script=Latin}/u.test(folded);
}

/**
 * Split folded text into word tokens: "&" and "+" become "and", apostrophes join ("art's" → "arts"),
 * dots inside abbreviations join ("s.a." → "sa"), every other non-letter/digit separates.
 * Runs of single Latin letters are joined ("s a" → "sa", "a b c" → "abc") so "S. A." equals "SA".
 */
export function wordTokens(folded: string): string[] {
  const ascii = !NON_ASCII_RE.test(folded);
  let pre = folded.replace(/\ba\/s\b/g, "as").replace(/[&+]/g, " and ");
  if (!ascii) {
    pre = pre
      .replace(/['’`´׳]/g, "")
      .replace(/(\p{L})["״](?=\p{L})/gu, "$1")
      .replace(CJK_THEN_LATIN_RE, "$1 ")
      .replace(LATIN_THEN_CJK_RE, "$1 ");
  } else pre = pre.replace(/['`]/g, "");
  const s = ascii
    ? pre
        .replace(/([a-z])\.(?=[a-z](?![a-z])|[a-z]\.)/g, "$1")
        .replace(/[^a-z0-9]+/g, " ")
        .trim()
    : pre
        .replace(/(\p{L})\.(?=\p{L}(?!\p{L})|\p{L}\.)/gu, "$1")
        .replace(/\./g, " ")
        .replace(/[^\p{L}\p{N}]+/gu, " ")
        .trim();
  if (s === "") return [];
  const raw = s.split(" ");
  const out: string[] = [];
  let run = "";
  for (const t of raw) {
    if (t.length === 1 && (ascii ? t >= "a" && t <= "z" : /\p{L}/u.test(t) && !CJK_CHAR_RE.test(t))) {
      run += t;
      continue;
    }
    if (run) {
      out.push(run);
      run = "";
    }
    out.push(t);
  }
  if (run) out.push(run);
  return out;
}

/** Common abbreviations in organisation names, mapped to one spelling. */
export const NAME_ABBREVIATIONS: Readonly<Record<string, string>> = {
  intl: "international",
  inter: "international",
  internat: "international",
  corp: "corporation",
  co: "company",
  cos: "companies",
  cie: "company",
  mfg: "manufacturing",
  assn: "association",
  assoc: "association",
  bros: "brothers",
  ctr: "center",
  cntr: "center",
  centre: "center",
  svc: "services",
  svcs: "services",
  serv: "services",
  natl: "national",
  univ: "university",
  inst: "institute",
  mgmt: "management",
  grp: "group",
  hosp: "hospital",
  acad: "academy",
  elem: "elementary",
  dept: "department",
  dev: "development",
  eng: "engineering",
  engg: "engineering",
  tech: "technology",
  techs: "technologies",
  ind: "industries",
  inds: "industries",
  intercontl: "intercontinental",
  sys: "systems",
  mt: "mount",
  ft: "fort",
  st: "saint",
  ste: "sainte",
  and: "and",
  und: "and",
  et: "and",
  y: "and",
};

/**
 * Legal-form tokens and token sequences, stripped from the end (and the start) of a name.
 * Written as they look after `wordTokens` (dots removed, single letters joined).
 */
export const LEGAL_FORMS: readonly string[] = [
  // English-speaking
  "inc",
  "incorporated",
  "llc",
  "llp",
  "lp",
  "ltd",
  "limited",
  "plc",
  "corporation",
  "company",
  "pty ltd",
  "pty limited",
  "pty",
  "pvt ltd",
  "private limited",
  "pte ltd",
  "pte",
  "company ltd",
  "company limited",
  "coltd",
  "lc",
  "pllc",
  "pc",
  // German-speaking
  "gmbh",
  "gmbh and company kg",
  "gmbh company kg",
  "gmbh and company",
  "and company kg",
  "company kg",
  "mbh",
  "ag",
  "kg",
  "kgaa",
  "ohg",
  "ug",
  "ev",
  "ek",
  "se",
  // French-speaking
  "sa",
  "sarl",
  "sa rl",
  "sas",
  "sasu",
  "eurl",
  "snc",
  "sca",
  "scs",
  "gie",
  "and company",
  "and cie",
  // Spanish / Portuguese / Latin America
  "sl",
  "slu",
  "sau",
  "sa de cv",
  "sab de cv",
  "de cv",
  "srl de cv",
  "ltda",
  "lda",
  "sociedad anonima",
  "eireli",
  // Italian
  "spa",
  "srl",
  "sapa",
  "snc",
  "sas",
  // Benelux
  "bv",
  "nv",
  "vof",
  "cv",
  "bvba",
  "sprl",
  "asbl",
  // Nordic
  "oy",
  "oyj",
  "ab",
  "publ",
  "ab publ",
  "as",
  "asa",
  "aps",
  "ans",
  "hf",
  "ehf",
  // Central / Eastern Europe
  "sp zoo",
  "spzoo",
  "sro",
  "as",
  "kft",
  "zrt",
  "nyrt",
  "doo",
  "dd",
  "ooo",
  "zao",
  "oao",
  "pao",
  "pjsc",
  "jsc",
  "ojsc",
  "cjsc",
  "tov",
  "gmbh u company kg",
  "u company kg",
  "aktiengesellschaft",
  "public limited company",
  "societe anonyme",
  "sociedad limitada",
  "sociedad anonima",
  // Bulgaria / Greece (after romanisation)
  "ood",
  "eood",
  "ad",
  "ead",
  "ae",
  "epe",
  "ike",
  "oe",
  "ee",
  // Asia / Pacific / Middle East / Africa
  "yugen kaisha",
  "godo kaisha",
  "goshi kaisha",
  "gomei kaisha",
  "fz",
  "ذمم",
  "شمع",
  "شمم",
  "بعم",
  "בעמ",
  "kk",
  "kabushiki kaisha",
  "gk",
  "yk",
  "株式会社",
  "有限会社",
  "合同会社",
  "有限公司",
  "股份有限公司",
  "sdn bhd",
  "bhd",
  "tbk",
  "pt",
  "cv",
  "jsc",
  "wll",
  "fze",
  "fzco",
  "fzllc",
  "saog",
  "saoc",
  "pjsc",
  "nl",
];

/** Tokens with no identifying value in names (after abbreviation mapping). */
const NAME_STOPWORDS = new Set(["the", "and", "of", "a", "an", "der", "die", "das", "le", "la", "les", "el", "los", "las", "il", "lo"]);

/** Legal forms that are also ordinary words and so are stripped from the end only, never from the start. */
const NOT_AT_START_FORMS = new Set([
  "as",
  "se",
  "sa",
  "ab",
  "company",
  "corporation",
  "and company",
  "pc",
  "lp",
  "nl",
  "cv",
  "ag",
  "pt",
  "ad",
  "ae",
  "oe",
  "ee",
  "fz",
]);

const LEGAL_SEQUENCES: string[][] = [...new Set(LEGAL_FORMS)].map((f) => f.split(" ")).sort((a, b) => b.length - a.length);
/** Legal-form sequences by their last / first token (longest first), so stripping costs a lookup, not a scan. */
const LEGAL_BY_LAST = new Map<string, string[][]>();
const LEGAL_BY_FIRST = new Map<string, string[][]>();
for (const seq of LEGAL_SEQUENCES) {
  const last = seq[seq.length - 1] as string;
  const first = seq[0] as string;
  LEGAL_BY_LAST.set(last, [...(LEGAL_BY_LAST.get(last) ?? []), seq]);
  if (!NOT_AT_START_FORMS.has(seq.join(" "))) LEGAL_BY_FIRST.set(first, [...(LEGAL_BY_FIRST.get(first) ?? []), seq]);
}

/** CJK legal forms written without spaces, stripped wherever they appear. */
const CJK_LEGAL_RE = /株式会社|有限会社|合同会社|合資会社|合名会社|股份有限公司|有限公司|\(株\)|\(有\)|\(合\)|㈱|㈲/g;

function endsWith(tokens: string[], seq: string[]): boolean {
  if (seq.length > tokens.length) return false;
  const off = tokens.length - seq.length;
  for (let i = 0; i < seq.length; i++) if (tokens[off + i] !== seq[i]) return false;
  return true;
}
function startsWith(tokens: string[], seq: string[]): boolean {
  if (seq.length > tokens.length) return false;
  for (let i = 0; i < seq.length; i++) if (tokens[i] !== seq[i]) return false;
  return true;
}

export interface NormalisedName {
  /** Tokens after folding, abbreviation mapping, legal-form and stop-word removal. */
  tokens: string[];
  /** The tokens joined by one space: the key for exact-name comparisons. */
  key: string;
  /** Legal forms found (canonical spelling), for explanation. */
  legalForms: string[];
}

/**
 * Normalise an organisation name: fold case and accents, map "&" to "and", expand common
 * abbreviations (Intl → international, Corp → corporation, Co → company, St → saint …),
 * strip legal forms across languages (Inc, LLC, Ltd, GmbH, AG, S.A., SARL, S.L., B.V., N.V.,
 * K.K., Co. Ltd, Pty Ltd, PLC, S.p.A., Oy, AB, A/S …) and stop words.
 * Never returns an empty key for a non-empty name: if stripping would remove everything, the
 * folded tokens are kept.
 */
export function normaliseName(name: string): NormalisedName {
  const folded = fold(name);
  const legalForms: string[] = [];
  const cjkStripped = folded.replace(CJK_LEGAL_RE, (m) => {
    legalForms.push(m);
    return " ";
  });
  const base = wordTokens(cjkStripped).map((t) => NAME_ABBREVIATIONS[t] ?? t);
  let tokens = base.slice();
  // Strip legal forms from the end, repeatedly ("Foo GmbH & Co. KG", "Foo Co., Ltd.").
  for (let changed = true; changed && tokens.length > 1; ) {
    changed = false;
    for (const seq of LEGAL_BY_LAST.get(tokens[tokens.length - 1] as string) ?? []) {
      if (seq.length < tokens.length && endsWith(tokens, seq)) {
        legalForms.push(seq.join(" "));
        tokens = tokens.slice(0, tokens.length - seq.length);
        changed = true;
        break;
      }
    }
  }
  // And from the start ("OOO Romashka", "PT Maju", "KK Sony").
  for (const seq of LEGAL_BY_FIRST.get(tokens[0] as string) ?? []) {
    const s = seq.join(" ");
    if (seq.length < tokens.length && startsWith(tokens, seq)) {
      legalForms.push(s);
      tokens = tokens.slice(seq.length);
      break;
    }
  }
  let kept = tokens.filter((t) => !NAME_STOPWORDS.has(t));
  if (kept.length === 0) kept = tokens.length > 0 ? tokens : base;
  return { tokens: kept, key: kept.join(" "), legalForms };
}

// ---------------------------------------------------------------- addresses

/** Street-type and directional words mapped to one short spelling. */
export const STREET_ABBREVIATIONS: Readonly<Record<string, string>> = {
  street: "st",
  str: "st",
  strasse: "st",
  stra: "st",
  avenue: "ave",
  av: "ave",
  avn: "ave",
  aven: "ave",
  boulevard: "blvd",
  blv: "blvd",
  boul: "blvd",
  bd: "blvd",
  road: "rd",
  drive: "dr",
  drv: "dr",
  lane: "ln",
  court: "ct",
  place: "pl",
  plaza: "plz",
  square: "sq",
  parkway: "pkwy",
  pky: "pkwy",
  highway: "hwy",
  terrace: "ter",
  circle: "cir",
  expressway: "expy",
  freeway: "fwy",
  way: "way",
  trail: "trl",
  alley: "aly",
  center: "ctr",
  centre: "ctr",
  north: "n",
  south: "s",
  east: "e",
  west: "w",
  northeast: "ne",
  northwest: "nw",
  southeast: "se",
  southwest: "sw",
  mount: "mt",
  saint: "st",
  fort: "ft",
  first: "1",
  second: "2",
  third: "3",
  fourth: "4",
  fifth: "5",
  sixth: "6",
  seventh: "7",
  eighth: "8",
  ninth: "9",
  tenth: "10",
};

const STREET_TYPES = new Set([
  "st",
  "ave",
  "blvd",
  "rd",
  "dr",
  "ln",
  "ct",
  "pl",
  "plz",
  "sq",
  "pkwy",
  "hwy",
  "ter",
  "cir",
  "expy",
  "fwy",
  "way",
  "trl",
  "aly",
]);
const DIRECTIONALS = new Set(["n", "s", "e", "w", "ne", "nw", "se", "sw"]);
/** Articles and prepositions inside street names ("Calle de la Constitución", "Rue du Bac"): not evidence. */
const STREET_PARTICLES = new Set([
  "de",
  "del",
  "la",
  "le",
  "les",
  "du",
  "des",
  "di",
  "da",
  "do",
  "dos",
  "das",
  "van",
  "von",
  "der",
  "den",
  "het",
  "of",
  "the",
  "y",
  "e",
]);
/** Words introducing a unit (the next token is the unit's number, not the house number). */
const UNIT_WORDS = new Set(["suite", "ste", "apt", "unit", "floor", "fl", "room", "rm", "po", "box", "dept", "etage", "piso", "planta"]);
/** Words that only mark the next token as the house number ("№ 70", "Nr. 5"). */
const NUMBER_MARKERS = new Set(["no", "nr", "num", "numero", "nro", "bldg", "building", "مبنى", "בניין"]);
/** Street-type words in other languages (after romanisation), skipped like "street". */
const FOREIGN_STREET_TYPES = new Set([
  "rue",
  "bd",
  "chemin",
  "allee",
  "impasse",
  "calle",
  "avenida",
  "avda",
  "paseo",
  "carrer",
  "plaza",
  "via",
  "viale",
  "corso",
  "piazza",
  "weg",
  "gasse",
  "platz",
  "allee",
  "ring",
  "damm",
  "straat",
  "laan",
  "plein",
  "gracht",
  "kade",
  "singel",
  "ul",
  "ulitsa",
  "bul",
  "bulevard",
  "pl",
  "odos",
  "leoforos",
  "rehov",
  "רחוב",
  "شارع",
]);

export interface NormalisedStreet {
  /** House number as written in digits, with a letter suffix kept ("12a"), or "" if none. */
  number: string;
  /** Street-name tokens: no number, no directionals, no street type, no unit. */
  nameTokens: string[];
  /** The first street-name word (for blocking: street number + first street word). */
  firstWord: string;
  /** All normalised tokens (for display / token comparisons). */
  tokens: string[];
}

function streetToken(t: string): string {
  const mapped = STREET_ABBREVIATIONS[t];
  if (mapped) return mapped;
  // German compounds: "hauptstrasse" → "haupt st"; ordinals: "109th" → "109".
  const ord = /^(\d+)(st|nd|rd|th|k)$/.exec(t);
  if (ord) return ord[1] as string;
  return t;
}

/**
 * Parse a street line: "435 S. La Cienega Blvd., Suite 200" → number "435", name tokens ["la", "cienega"].
 * Also handles "Hauptstraße 5" (number after the name) and German compound street names.
 */
export function normaliseStreet(street: string): NormalisedStreet {
  const prepared = fold(street)
    // Japanese block addresses: "栄6丁目9番4号" and "栄 6-9-4" are the same place.
    .replace(/(\d+)\s*丁目\s*(\d+)\s*(?:番地?|-)\s*(\d+)\s*号?/g, " $1-$2-$3")
    .replace(/(\d+)\s*番地?\s*(\d+)\s*号?/g, " $1-$2")
    // A chain of three numbers "1-19-5" is one house number (chome-ban-go); kept as one token.
    .replace(/(\d+)\s*-\s*(\d+)\s*-\s*(\d+)/g, " $1c$2c$3 ");
  const raw = wordTokens(prepared);
  const tokens: string[] = [];
  const ordinal: number[] = [];
  for (const t of raw) {
    const m = /^(\p{L}+)(strasse|str)$/u.exec(t);
    if (m && (m[1] as string).length >= 3) {
      tokens.push(m[1] as string, "st");
      ordinal.push(0, 0);
      continue;
    }
    const mapped = streetToken(t);
    tokens.push(mapped);
    ordinal.push(mapped !== t && /^\d+$/.test(mapped) ? 1 : 0);
  }
  let number = "";
  const nameTokens: string[] = [];
  let skipNext = false;
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i] as string;
    if (skipNext) {
      skipNext = false;
      continue;
    }
    if (UNIT_WORDS.has(t)) {
      skipNext = true;
      continue;
    }
    if (NUMBER_MARKERS.has(t) || FOREIGN_STREET_TYPES.has(t)) continue;
    if (ordinal[i] === 1 && nameTokens.length === 0) {
      // "3rd St", "Fifth Avenue": an ordinal is a street name, never a house number.
      nameTokens.push(t);
      continue;
    }
    if (/^\d+([a-z]|(c\d+)+)?$/.test(t)) {
      if (number === "") number = t;
      else if (nameTokens.length === 0) nameTokens.push(t); // "1 E 113 St": 113 is the street name
      continue;
    }
    if (STREET_TYPES.has(t) || DIRECTIONALS.has(t) || STREET_PARTICLES.has(t)) continue;
    nameTokens.push(t);
  }
  return { number, nameTokens, firstWord: nameTokens[0] ?? "", tokens };
}

/** Postal code: upper case, no spaces or dashes; US ZIP+4 cut to the five-digit ZIP. */
export function normalisePostalCode(code: string): string {
  let s = fold(code.replace(/〒/g, ""))
    .replace(/[^\p{L}\p{N}]/gu, "")
    .toUpperCase();
  // Country prefix written before a numeric code: "D-80479", "F-13011", "BG-4697".
  const prefixed = /^[A-Z]{1,2}(\d{4,6})$/.exec(s);
  if (prefixed) s = prefixed[1] as string;
  if (/^\d{9}$/.test(s)) return s.slice(0, 5);
  return s;
}

/** City: folded tokens joined, "St." → "saint", "Mt." → "mount". */
export function normaliseCity(city: string): string {
  return wordTokens(fold(city))
    .map((t) => (t === "st" ? "saint" : t === "mt" ? "mount" : t === "ft" ? "fort" : t))
    .join(" ");
}

const COUNTRY_ALIASES: Record<string, string> = {
  "united states": "us",
  "united states of america": "us",
  usa: "us",
  america: "us",
  "united kingdom": "gb",
  uk: "gb",
  england: "gb",
  germany: "de",
  deutschland: "de",
  france: "fr",
  spain: "es",
  espana: "es",
  italy: "it",
  italia: "it",
  netherlands: "nl",
  holland: "nl",
  nederland: "nl",
  belgium: "be",
  switzerland: "ch",
  schweiz: "ch",
  suisse: "ch",
  austria: "at",
  osterreich: "at",
  sweden: "se",
  sverige: "se",
  norway: "no",
  norge: "no",
  denmark: "dk",
  danmark: "dk",
  finland: "fi",
  suomi: "fi",
  poland: "pl",
  polska: "pl",
  japan: "jp",
  china: "cn",
  india: "in",
  canada: "ca",
  australia: "au",
  brazil: "br",
  brasil: "br",
  mexico: "mx",
  ireland: "ie",
  portugal: "pt",
  "republique francaise": "fr",
  "united arab emirates": "ae",
  uae: "ae",
  emirates: "ae",
  "الامارات العربية المتحدة": "ae",
  "الإمارات العربية المتحدة": "ae",
  israel: "il",
  ישראל: "il",
  greece: "gr",
  hellas: "gr",
  ellada: "gr",
  ellas: "gr",
  bulgaria: "bg",
  balgariya: "bg",
  日本: "jp",
  nippon: "jp",
  中国: "cn",
  "south korea": "kr",
  korea: "kr",
  "new zealand": "nz",
  "south africa": "za",
  luxembourg: "lu",
  "czech republic": "cz",
  czechia: "cz",
  hungary: "hu",
  romania: "ro",
  turkey: "tr",
  turkiye: "tr",
  russia: "ru",
  "russian federation": "ru",
  rossiya: "ru",
  ukraine: "ua",
  ukraina: "ua",
  singapore: "sg",
  "hong kong": "hk",
  "saudi arabia": "sa",
  argentina: "ar",
  chile: "cl",
  colombia: "co",
  peru: "pe",
  "great britain": "gb",
  britain: "gb",
  scotland: "gb",
  wales: "gb",
  "northern ireland": "gb",
};

/** Country: ISO two-letter code when known ("USA", "U.S.A.", "日本", "България" …), otherwise "" (not comparable). */
export function normaliseCountry(country: string): string {
  let s = wordTokens(fold(country)).join(" ");
  s = s.replace(/^(the|republic of|kingdom of|state of|federal republic of) /, "");
  if (/^[a-z]{2}$/.test(s)) return s === "uk" ? "gb" : s;
  return COUNTRY_ALIASES[s] ?? "";
}

/** Digits of a phone number (extensions after "x"/"ext" dropped). */
export function phoneDigits(phone: string): string {
  const main = phone.split(/(?:ext\.?|x|#)/i)[0] ?? "";
  return main.replace(/\D/g, "");
}

/** Free-mail domains: agreement on them says nothing about the organisation. */
export const FREE_MAIL_DOMAINS: ReadonlySet<string> = new Set([
  "gmail.com",
  "googlemail.com",
  "yahoo.com",
  "yahoo.co.uk",
  "yahoo.fr",
  "yahoo.de",
  "ymail.com",
  "hotmail.com",
  "hotmail.co.uk",
  "hotmail.fr",
  "hotmail.de",
  "outlook.com",
  "live.com",
  "msn.com",
  "aol.com",
  "icloud.com",
  "me.com",
  "mac.com",
  "gmx.de",
  "gmx.net",
  "gmx.com",
  "web.de",
  "t-online.de",
  "mail.ru",
  "yandex.ru",
  "yandex.com",
  "qq.com",
  "163.com",
  "126.com",
  "protonmail.com",
  "proton.me",
  "zoho.com",
  "mail.com",
  "free.fr",
  "orange.fr",
  "laposte.net",
  "libero.it",
  "comcast.net",
  "verizon.net",
  "att.net",
  "sbcglobal.net",
]);

/** The domain of an e-mail address, lower case, or "" when there is none. */
export function emailDomain(email: string): string {
  const at = email.lastIndexOf("@");
  if (at < 0) return "";
  return email
    .slice(at + 1)
    .trim()
    .toLowerCase()
    .replace(/[>\s].*$/, "");
}

/** The registrable part of a web address: "https://www.Acme.co.uk/about" → "acme.co.uk". */
export function websiteDomain(url: string): string {
  let s = url.trim().toLowerCase();
  s = s.replace(/^[a-z]+:\/\//, "").replace(/^www\d?\./, "");
  s = s.split(/[/?#:\s]/)[0] ?? "";
  // Only something that looks like a domain ("yes", "n/a", "none" are not).
  return /^[a-z0-9-]+(\.[a-z0-9-]+)+$/.test(s) ? s : "";
}

/** Tax id: letters and digits only, upper case, a two-letter country prefix dropped ("DE 123.456.789" → "123456789"). */
export function normaliseTaxId(taxId: string): string {
  const s = fold(taxId)
    .replace(/[^\p{L}\p{N}]/gu, "")
    .toUpperCase();
  // A VAT number is often written with and without its country prefix ("DE123456789" / "123456789").
  const m = /^[A-Z]{2}(\d.*)$/.exec(s);
  return m ? (m[1] as string) : s;
}
