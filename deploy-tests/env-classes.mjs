// What the TypeScript apps read from the environment, for the deployment tests, from the env
// classes themselves (loaded with ts-node): every class named `...Env` declared in an app's
// sources (apps/<app>/src/config/*-env.ts and any other, such as the webhook or security
// settings), with the CommonEnv they extend.
//   node deploy-tests/env-classes.mjs < {"api": [env, ...], "gpu-node": [env, ...]}
// prints {"classes": {app: {classes, variables, required, defaults}}, "queues": {...},
//         "unknownVariableCheck": {prefixes, readElsewhere},
//         "problems": {app: [[problem, ...] for each env given]}}.
import { readFileSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const load = createRequire(import.meta.url);

load('ts-node').register({ transpileOnly: true, project: join(root, 'tsconfig.json') });
const tsconfig = load(join(root, 'tsconfig.json'));
load('tsconfig-paths').register({ baseUrl: root, paths: tsconfig.compilerOptions.paths });
load('reflect-metadata');

const { getMetadataStorage, validateSync } = load('class-validator');
const { plainToInstance } = load('class-transformer');
const common = load(join(root, 'libs/common/src'));

const APPS = { api: 'apps/api/src', 'gpu-node': 'apps/gpu-node/src' };
const ENV_CLASS = /\bclass\s+(\w+Env)\b/g;

function sourceFiles(dir) {
  return readdirSync(join(root, dir), { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.ts') && !/\.(e2e-)?spec\.ts$/.test(entry.name))
    .map((entry) => join(entry.parentPath, entry.name));
}

/** The env classes an app declares; their files are loaded so their decorators register. */
function envClassesOf(dir) {
  const names = new Set();
  for (const file of sourceFiles(dir)) {
    const declared = [...readFileSync(file, 'utf8').matchAll(ENV_CLASS)].map((match) => match[1]);
    if (declared.length === 0) continue;
    load(file);
    declared.forEach((name) => names.add(name));
  }
  // Not every env class is exported, so they are found where class-validator keeps them.
  const targets = [...getMetadataStorage().validationMetadatas.keys()];
  return targets.filter((target) => names.has(target.name));
}

function describe(envClasses) {
  const variables = new Set();
  const required = new Set();
  const defaults = {};
  for (const envClass of envClasses) {
    const names = getMetadataStorage()
      .getTargetValidationMetadatas(envClass, '', true, false)
      .map((metadata) => metadata.propertyName);
    names.forEach((name) => variables.add(name));
    const instance = plainToInstance(envClass, {}, { exposeDefaultValues: true });
    for (const error of validateSync(instance, { forbidUnknownValues: true })) required.add(error.property);
    for (const name of names) if (instance[name] !== undefined) defaults[name] = instance[name];
  }
  return {
    classes: envClasses.map((envClass) => envClass.name).sort(),
    variables: [...variables].sort(),
    required: [...required].sort(),
    defaults,
  };
}

/** Each env class checks the whole environment at start, as the app does; their problems, joined. */
function problemsOf(envClasses, env) {
  return envClasses.flatMap((envClass) => {
    try {
      common.validateEnv(envClass)(env);
      return [];
    } catch (error) {
      if (error instanceof common.InvalidConfigurationError) return error.problems;
      throw error;
    }
  });
}

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const toValidate = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');

const envClasses = Object.fromEntries(Object.entries(APPS).map(([app, dir]) => [app, envClassesOf(dir)]));
const result = {
  classes: Object.fromEntries(Object.entries(envClasses).map(([app, classes]) => [app, describe(classes)])),
  unknownVariableCheck: {
    prefixes: common.SERVICE_VARIABLE_PREFIXES,
    readElsewhere: common.VARIABLES_READ_ELSEWHERE,
  },
  queues: {
    jobQueues: Object.values(common.JOB_QUEUES),
    webhookQueue: common.WEBHOOK_QUEUE,
    bullPrefix: common.BULL_PREFIX,
  },
  problems: Object.fromEntries(
    Object.entries(toValidate).map(([app, envs]) => [app, envs.map((env) => problemsOf(envClasses[app], env))]),
  ),
};
process.stdout.write(JSON.stringify(result));
