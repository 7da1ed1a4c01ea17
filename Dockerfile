# The long jobs' image (src/infrastructure/cdk/jobs.stack.ts): the c360 CLI from this repository's
# sources, run through tsx as `npm run c360` runs it, on Node 22 (the project's pin) for arm64.
# The entry (src/infrastructure/job.ts) reads the claim secret from Secrets Manager, then runs
# the command the task is given: rebuild, match or migrate.
FROM public.ecr.aws/docker/library/node:22-bookworm-slim
ENV NODE_ENV=production C360_DATA_DIR=/tmp/c360 C360_LAKE=off
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY tsconfig.json ./
COPY bin ./bin
COPY src ./src
USER node
ENTRYPOINT ["node", "--max-semi-space-size=64", "--import", "tsx", "src/infrastructure/job.ts"]
CMD ["--help"]
