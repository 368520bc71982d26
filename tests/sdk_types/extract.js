// Extract the response-object types of an official SDK's TypeScript definitions into compact
// JSON for tests/support/sdk_types.py. Run by regenerate.sh; not part of the test run.
//
//   node extract.js stripe    <unpacked stripe package dir>    > stripe.json
//   node extract.js chargebee <unpacked chargebee package dir> > chargebee.json
//
// A type is one of: "string" "number" "boolean" "null" "unknown" "decimal" (Stripe's Decimal:
// a string on the wire), {"lit": v}, {"ref": name}, {"array": T}, {"list": T} (Stripe's
// ApiList<T>), "resources" (Chargebee: an object of resources keyed by name, like a response),
// {"union": [T...]}, {"object": {"fields": {...}, "extra": T|null}} (inline).
// A named type is {"fields": {name: {"type": T, "optional": bool}}, "extra": T|null}; "extra"
// is an index signature's value type (Metadata, or Chargebee's `[key: string]: unknown`).
'use strict';
const fs = require('fs');
const path = require('path');
const ts = require(process.env.TYPESCRIPT || 'typescript');

const [vendor, rootArg] = process.argv.slice(2);
const root = path.resolve(rootArg);
const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));

function dtsFiles(dir) {
  return fs.readdirSync(dir, {withFileTypes: true}).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return dtsFiles(p);
    return e.name.endsWith('.d.ts') ? [p] : [];
  });
}

const typesDir = vendor === 'stripe' ? path.join(root, 'cjs') : path.join(root, 'types');
const files = dtsFiles(typesDir);
const program = ts.createProgram(files, {strict: true, noEmit: true, skipLibCheck: true});
const checker = program.getTypeChecker();
const resourcesDir = path.join(typesDir, 'resources');

// -- names: the namespace path inside the file, prefixed by Stripe's resource sub-folder --------
function declName(decl) {
  const parts = [];
  for (let node = decl; node; node = node.parent) {
    if ((ts.isInterfaceDeclaration(node) || ts.isTypeAliasDeclaration(node) ||
         ts.isClassDeclaration(node)) && node.name) parts.unshift(node.name.text);
    else if (ts.isModuleDeclaration(node) && ts.isIdentifier(node.name)) parts.unshift(node.name.text);
    else if (ts.isSourceFile(node) && vendor === 'stripe') {
      const rel = path.relative(resourcesDir, path.dirname(node.fileName));
      if (rel && !rel.startsWith('..')) parts.unshift(...rel.split(path.sep));
    }
  }
  return parts.join('.');
}

const named = {};
const queue = [];

function refTo(symbol) {
  const decl = symbol.declarations[0];
  const name = declName(decl);
  if (!(name in named)) {
    named[name] = null;
    queue.push([name, symbol]);
  }
  return {ref: name};
}

function shapeOf(type) {
  const fields = {};
  for (const prop of checker.getPropertiesOfType(type)) {
    const decl = prop.valueDeclaration || prop.declarations?.[0];
    if (decl && (ts.isMethodSignature(decl) || ts.isMethodDeclaration(decl))) continue;
    const propType = checker.getTypeOfSymbol(prop);
    fields[prop.name] = {type: typeOf(propType, true),
                         optional: (prop.flags & ts.SymbolFlags.Optional) !== 0};
  }
  const index = checker.getIndexInfoOfType(type, ts.IndexKind.String);
  return {fields, extra: index ? typeOf(index.type) : null};
}

function isDecimal(type) {
  return type.aliasSymbol?.name === 'Decimal' ||
    (type.isIntersection() && type.types.some((t) => t.symbol?.name === 'DecimalImpl'));
}

function typeOf(type, dropUndefined = false) {
  const f = type.flags;
  if (isDecimal(type)) return 'decimal';
  if (f & (ts.TypeFlags.Any | ts.TypeFlags.Unknown)) return 'unknown';
  if (f & ts.TypeFlags.String) return 'string';
  if (f & ts.TypeFlags.Number) return 'number';
  if (f & ts.TypeFlags.Boolean) return 'boolean';
  if (f & ts.TypeFlags.Null) return 'null';
  if (f & ts.TypeFlags.StringLiteral) return {lit: type.value};
  if (f & ts.TypeFlags.NumberLiteral) return {lit: type.value};
  if (f & ts.TypeFlags.BooleanLiteral) return {lit: type.intrinsicName === 'true'};
  if (type.isUnion()) {
    let members = type.types.filter((t) => !(dropUndefined && (t.flags & ts.TypeFlags.Undefined)));
    let out = members.map((t) => typeOf(t));
    if (out.includes('string')) out = out.filter((t) => !(t.lit !== undefined && typeof t.lit === 'string'));
    const bools = out.filter((t) => t.lit === true || t.lit === false);
    if (bools.length === 2) out = [...out.filter((t) => !bools.includes(t)), 'boolean'];
    const unique = [...new Map(out.map((t) => [JSON.stringify(t), t])).values()];
    return unique.length === 1 ? unique[0] : {union: unique};
  }
  if (type.isIntersection()) {  // OtherString = string & Record<never, never>
    if (type.types.some((t) => t.flags & ts.TypeFlags.String)) return 'string';
    return {object: shapeOf(type)};
  }
  if (f & ts.TypeFlags.Object) {
    if (checker.isArrayType(type)) return {array: typeOf(checker.getTypeArguments(type)[0])};
    const symbol = type.symbol;
    if (symbol?.name === 'ApiList' || symbol?.name === 'ApiSearchResult') {
      return {list: typeOf(checker.getTypeArguments(type)[0])};
    }
    const isNamed = symbol && (symbol.flags & (ts.SymbolFlags.Interface | ts.SymbolFlags.Class)) &&
      !(type.objectFlags & ts.ObjectFlags.Reference && checker.getTypeArguments(type).length);
    if (isNamed) return refTo(symbol);
    return {object: shapeOf(type)};
  }
  return 'unknown';
}

// -- roots ----------------------------------------------------------------------------------------
const roots = {};  // Stripe: object value -> [type names]; Chargebee: wrapper key -> type name
for (const file of program.getSourceFiles()) {
  if (!file.fileName.startsWith(resourcesDir + path.sep)) continue;
  if (vendor === 'stripe' && file.fileName.includes(`${path.sep}V2${path.sep}`)) continue;
  ts.forEachChild(file, function visit(node) {
    if (ts.isModuleDeclaration(node) && node.body) {
      if (vendor === 'chargebee' && ts.isStringLiteral(node.name)) ts.forEachChild(node.body, visit);
      return;  // Stripe's nested namespaces hold sub-types, reached through their parents
    }
    if (!ts.isInterfaceDeclaration(node) || node.typeParameters) return;
    const name = declName(node);
    const type = checker.getTypeAtLocation(node.name);
    if (vendor === 'stripe') {
      const objectProp = type.getProperty('object');
      const t = objectProp && checker.getTypeOfSymbol(objectProp);
      if (!t || !(t.flags & ts.TypeFlags.StringLiteral) || name.endsWith('Event')) return;
      (roots[t.value] ||= []).push(refTo(type.symbol).ref);
    } else if (path.dirname(file.fileName) === resourcesDir && !name.includes('.')) {
      const key = name.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase();
      roots[key] = refTo(type.symbol).ref;
    }
  });
}
if (vendor === 'stripe') {  // events: the SDK's union of typed events, told apart by `type`
  const eventsFile = program.getSourceFile(path.join(resourcesDir, 'Events.d.ts'));
  const alias = eventsFile.statements.find((s) => ts.isTypeAliasDeclaration(s) && s.name.text === 'Event');
  roots.event = typeOf(checker.getTypeAtLocation(alias.name)).union.map((t) => t.ref);
}

while (queue.length) {
  const [name, symbol] = queue.shift();
  named[name] = shapeOf(checker.getDeclaredTypeOfSymbol(symbol));
}
if (vendor === 'chargebee') {
  // An event's `content` is typed as the intersection of every event's content (each resource
  // required); on the wire it holds the event's resources, keyed like a response: "resources".
  named.Event.fields.content.type = 'resources';
}

const sorted = Object.fromEntries(Object.keys(named).sort().map((k) => [k, named[k]]));
const out = {package: pkg.name, version: pkg.version, license: pkg.license, roots, types: sorted};
if (vendor === 'stripe') {
  const m = fs.readFileSync(path.join(root, 'cjs', 'apiVersion.js'), 'utf8').match(/ApiVersion = '([^']+)'/);
  out.api_version = m[1];
}
process.stdout.write(JSON.stringify(out) + '\n');
