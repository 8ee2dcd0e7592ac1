/**
 * The double's state: projects and their environments, applications and their deployments, services (compose
 * stacks) whose status moves on the double's clock too (start: `starting:unknown`, then `running:healthy`; stop:
 * `exited:unhealthy`; a deletion is queued and done a little later, a GET still finding the service until then); moving through their states on the double's own clock
 * (sped up by `speed`), as Coolify v4.3.10 moves them: a deployment waits `queued` while its application has one
 * in progress or its server already builds 2; it then runs for the application's build time and ends `finished`
 * or `failed`; `cancelled-by-user` when cancelled. See ../shared/contracts/COOLIFY-NOTES.md.
 */
import { randomBytes } from 'node:crypto';

export type DeploymentStatus = 'queued' | 'in_progress' | 'finished' | 'failed' | 'cancelled-by-user';

export interface LogLine {
  output: string;
  type: 'stdout' | 'stderr';
  timestamp: string;
  hidden: boolean;
  batch: number;
  order: number;
}

export interface App {
  id: number;
  uuid: string;
  name: string;
  project: string;
  environment: string;
  serverUuid: string;
  imageName: string;
  imageTag: string;
  fqdn: string;
  status: string;
  healthCheckEnabled: boolean;
  /** How long a build takes at speed 1. */
  buildMs: number;
  /** The next N deployments fail. */
  failNext: number;
  envs: Array<{ id: number; uuid: string; key: string; value: string; is_preview: boolean; is_literal: boolean; is_multiline: boolean; is_shown_once: boolean; created_at: string; updated_at: string }>;
  /** Images built, newest last (what /rollback-images lists). */
  images: Array<{ tag: string; created_at: string }>;
  currentTag: string | null;
  deletedAt: Date | null;
  stoppingUntil: number | null;
  createdAt: Date;
  updatedAt: Date;
}

export type EnvRow = App['envs'][number];

export interface Service {
  id: number;
  uuid: string;
  name: string;
  projectUuid: string;
  environmentId: number;
  serverUuid: string;
  /** The compose file as Coolify keeps it: decoded. */
  composeRaw: string;
  status: string;
  envs: EnvRow[];
  /** Statuses still to come, each at its time on the double's clock. */
  pending: Array<{ at: number; status: string }>;
  /** Deletion queued: the service goes at this time; volumes with it or not. */
  deletion: { at: number; volumes: boolean } | null;
  createdAt: Date;
  updatedAt: Date;
}

export interface Environment {
  id: number;
  uuid: string;
  name: string;
  projectUuid: string;
  createdAt: Date;
}

export interface Deployment {
  id: number;
  uuid: string;
  app: App;
  tag: string;
  status: DeploymentStatus;
  force: boolean;
  rollback: boolean;
  createdAt: Date;
  updatedAt: Date;
  startedAt: number | null;
  finishedAt: Date | null;
  logs: LogLine[];
}

/** Coolify's uuids: 24 lowercase letters and digits. */
export function coolifyUuid(): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  return Array.from(randomBytes(24), (b) => alphabet[b % alphabet.length]).join('');
}

export const MAX_BUILDS_PER_SERVER = 2;
export const DEFAULT_SERVER_UUID = 'server000000000000000000';
/** One step of a service's start, stop or deletion at speed 1. */
export const SERVICE_STEP_MS = 500;

export class Model {
  readonly apps = new Map<string, App>();
  readonly deployments: Deployment[] = [];
  speed = 1;
  private nextId = 1;

  constructor(private readonly onEnded: (d: Deployment) => void) {}

  /** Coolify allows two projects of one name: a list, oldest first. */
  readonly projects: Array<{ id: number; uuid: string; name: string }> = [];
  readonly environments: Environment[] = [];
  readonly services = new Map<string, Service>();
  /** Services deleted, with whether their volumes went too (what a test checks after a purge). */
  readonly deletedServices: Array<{ uuid: string; name: string; volumes: boolean }> = [];
  /** Servers services may be created on. */
  readonly servers = new Set<string>([DEFAULT_SERVER_UUID]);

  projectByName(name: string) {
    return this.projects.find((p) => p.name === name);
  }

  /** A new project, with its `production` environment (as Coolify creates it). */
  createProject(name: string): { id: number; uuid: string; name: string } {
    const project = { id: this.nextId++, uuid: coolifyUuid(), name };
    this.projects.push(project);
    this.createEnvironment(project.uuid, 'production');
    return project;
  }

  createEnvironment(projectUuid: string, name: string): Environment {
    const env: Environment = { id: this.nextId++, uuid: coolifyUuid(), name, projectUuid, createdAt: new Date() };
    this.environments.push(env);
    return env;
  }

  /** By name first, then by uuid (Coolify's order). */
  findEnvironment(projectUuid: string, nameOrUuid: string): Environment | undefined {
    const mine = this.environments.filter((e) => e.projectUuid === projectUuid);
    return mine.find((e) => e.name === nameOrUuid) ?? mine.find((e) => e.uuid === nameOrUuid);
  }

  addService(spec: { name: string; projectUuid: string; environment: Environment; serverUuid: string; composeRaw: string }): Service {
    const now = new Date();
    const service: Service = {
      id: this.nextId++,
      uuid: coolifyUuid(),
      name: spec.name,
      projectUuid: spec.projectUuid,
      environmentId: spec.environment.id,
      serverUuid: spec.serverUuid,
      composeRaw: spec.composeRaw,
      status: 'exited:unhealthy',
      envs: [],
      pending: [],
      deletion: null,
      createdAt: now,
      updatedAt: now,
    };
    this.services.set(service.uuid, service);
    return service;
  }

  /** Coolify's start job: a moment later the containers are starting, then running. */
  startService(s: Service, now = Date.now()): void {
    s.pending = [
      { at: now + SERVICE_STEP_MS / this.speed, status: 'starting:unknown' },
      { at: now + (3 * SERVICE_STEP_MS) / this.speed, status: 'running:healthy' },
    ];
  }

  stopService(s: Service, now = Date.now()): void {
    s.pending = [{ at: now + SERVICE_STEP_MS / this.speed, status: 'exited:unhealthy' }];
  }

  deleteService(s: Service, volumes: boolean, now = Date.now()): void {
    s.deletion = { at: now + (2 * SERVICE_STEP_MS) / this.speed, volumes };
    this.stopService(s, now);
  }

  addApp(spec: { name: string; project?: string; environment?: string; serverUuid?: string; imageName?: string; imageTag?: string; buildMs?: number; healthCheckEnabled?: boolean; uuid?: string }): App {
    const now = new Date();
    const app: App = {
      id: this.nextId++,
      uuid: spec.uuid ?? coolifyUuid(),
      name: spec.name,
      project: spec.project ?? 'fraisier',
      environment: spec.environment ?? 'production',
      serverUuid: spec.serverUuid ?? DEFAULT_SERVER_UUID,
      imageName: spec.imageName ?? `registry.local/${spec.name}`,
      imageTag: spec.imageTag ?? 'latest',
      fqdn: `http://${spec.name}.coolify.local`,
      status: 'exited:unhealthy',
      healthCheckEnabled: spec.healthCheckEnabled ?? false,
      buildMs: spec.buildMs ?? 2_000,
      failNext: 0,
      envs: [],
      images: [],
      currentTag: null,
      deletedAt: null,
      stoppingUntil: null,
      createdAt: now,
      updatedAt: now,
    };
    this.apps.set(app.uuid, app);
    const project = this.projectByName(app.project) ?? this.createProject(app.project);
    if (!this.findEnvironment(project.uuid, app.environment)) this.createEnvironment(project.uuid, app.environment);
    return app;
  }

  queue(app: App, options: { force: boolean; rollback?: boolean; tag?: string }): Deployment {
    const now = new Date();
    const d: Deployment = {
      id: this.nextId++,
      uuid: coolifyUuid(),
      app,
      tag: options.tag ?? app.imageTag,
      status: 'queued',
      force: options.force,
      rollback: options.rollback ?? false,
      createdAt: now,
      updatedAt: now,
      startedAt: null,
      finishedAt: null,
      logs: [],
    };
    this.log(d, 'stdout', `Deployment ${d.uuid} of ${app.name} queued.`);
    this.deployments.push(d);
    return d;
  }

  /** A deployment of the same application and tag still queued or running (Coolify's dedupe). */
  pendingFor(app: App, tag: string): Deployment | undefined {
    return this.deployments.find((d) => d.app === app && d.tag === tag && (d.status === 'queued' || d.status === 'in_progress'));
  }

  find(uuid: string): Deployment | undefined {
    return this.deployments.find((d) => d.uuid === uuid);
  }

  cancel(d: Deployment): void {
    this.end(d, 'cancelled-by-user');
  }

  /** Moves every deployment along; called on the double's clock. */
  tick(now = Date.now()): void {
    for (const d of this.deployments) {
      if (d.status === 'in_progress' && d.startedAt !== null && now - d.startedAt >= d.app.buildMs / this.speed) {
        const fails = d.app.failNext > 0;
        if (fails) d.app.failNext -= 1;
        if (fails) {
          this.log(d, 'stderr', `ERROR: build of ${d.app.imageName}:${d.tag} failed (SECRET_TOKEN=${d.app.envs.find((e) => e.key === 'SECRET_TOKEN')?.value ?? 'none'})`);
          this.end(d, 'failed');
        } else {
          const app = d.app;
          app.currentTag = d.tag;
          if (!app.images.some((i) => i.tag === d.tag)) app.images.push({ tag: d.tag, created_at: new Date(now).toISOString() });
          app.status = app.healthCheckEnabled ? 'running:healthy' : 'running:unknown';
          app.updatedAt = new Date(now);
          this.log(d, 'stdout', `New container started: ${app.imageName}:${d.tag}`);
          this.end(d, 'finished');
        }
      }
    }
    for (const d of this.deployments) {
      if (d.status !== 'queued') continue;
      const appBusy = this.deployments.some((o) => o.app === d.app && o.status === 'in_progress');
      const serverBuilds = this.deployments.filter((o) => o.app.serverUuid === d.app.serverUuid && o.status === 'in_progress').length;
      if (appBusy || serverBuilds >= MAX_BUILDS_PER_SERVER) continue;
      d.status = 'in_progress';
      d.startedAt = now;
      d.updatedAt = new Date(now);
      this.log(d, 'stdout', `Building ${d.app.imageName}:${d.tag}`);
      this.log(d, 'stdout', 'internal step', true);
    }
    for (const s of this.services.values()) {
      while (s.pending.length > 0 && (s.pending[0]?.at ?? Infinity) <= now) {
        s.status = s.pending.shift()?.status ?? s.status;
        s.updatedAt = new Date(now);
      }
      if (s.deletion && now >= s.deletion.at) {
        this.services.delete(s.uuid);
        this.deletedServices.push({ uuid: s.uuid, name: s.name, volumes: s.deletion.volumes });
      }
    }
    for (const app of this.apps.values()) {
      if (app.stoppingUntil !== null && now >= app.stoppingUntil) {
        app.stoppingUntil = null;
        app.status = 'exited:unhealthy';
      }
    }
  }

  private end(d: Deployment, status: DeploymentStatus): void {
    d.status = status;
    d.finishedAt = new Date();
    d.updatedAt = d.finishedAt;
    this.onEnded(d);
  }

  private log(d: Deployment, type: 'stdout' | 'stderr', output: string, hidden = false): void {
    d.logs.push({ output, type, timestamp: new Date().toISOString(), hidden, batch: 1, order: d.logs.length + 1 });
  }
}
