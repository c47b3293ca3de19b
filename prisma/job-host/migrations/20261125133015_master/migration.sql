-- AlterTable
ALTER TABLE "Bucket" ADD COLUMN "key" TEXT;

-- CreateTable
CREATE TABLE "Job" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "spec" TEXT NOT NULL,
    "workerJob" TEXT NOT NULL,
    "splits" TEXT NOT NULL,
    "state" TEXT NOT NULL,
    "error" TEXT,
    "maps" INTEGER NOT NULL,
    "reduces" INTEGER NOT NULL,
    "counters" TEXT,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "finishedAt" DATETIME,
    "expiresAt" DATETIME
);

-- CreateTable
CREATE TABLE "Task" (
    "job" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "index" INTEGER NOT NULL,
    "state" TEXT NOT NULL,
    "failures" INTEGER NOT NULL DEFAULT 0,
    "losses" INTEGER NOT NULL DEFAULT 0,
    "committedAttempt" INTEGER,
    "counters" TEXT,
    "outputs" TEXT,

    PRIMARY KEY ("job", "name")
);

-- CreateTable
CREATE TABLE "Attempt" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "job" TEXT NOT NULL,
    "task" TEXT NOT NULL,
    "number" INTEGER NOT NULL,
    "worker" TEXT NOT NULL,
    "state" TEXT NOT NULL,
    "speculative" BOOLEAN NOT NULL DEFAULT false,
    "grantJti" TEXT NOT NULL,
    "grantExp" DATETIME NOT NULL,
    "startedAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "heartbeatAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "finishedAt" DATETIME,
    "sandbox" TEXT,
    "containerId" TEXT,
    "status" TEXT,
    "error" TEXT,
    "exitCode" INTEGER,
    "reason" TEXT,
    "stderrTail" TEXT
);

-- CreateTable
CREATE TABLE "Worker" (
    "job" TEXT NOT NULL,
    "pseudonym" TEXT NOT NULL,
    "sessionHash" TEXT NOT NULL,
    "signingKey" TEXT NOT NULL,
    "wrappingKey" TEXT NOT NULL,
    "sandbox" TEXT NOT NULL,
    "slots" INTEGER NOT NULL,
    "memoryBytes" BIGINT NOT NULL,
    "state" TEXT NOT NULL,
    "failureRun" INTEGER NOT NULL DEFAULT 0,
    "joinedAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "lastSeen" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,

    PRIMARY KEY ("job", "pseudonym")
);

-- CreateTable
CREATE TABLE "JoinTicket" (
    "hash" TEXT NOT NULL PRIMARY KEY,
    "job" TEXT NOT NULL,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "usedAt" DATETIME,
    "usedBy" TEXT
);

-- CreateIndex
CREATE INDEX "Attempt_job_state_idx" ON "Attempt"("job", "state");

-- CreateIndex
CREATE UNIQUE INDEX "Attempt_job_task_number_key" ON "Attempt"("job", "task", "number");

-- CreateIndex
CREATE UNIQUE INDEX "Worker_sessionHash_key" ON "Worker"("sessionHash");

-- CreateIndex
CREATE INDEX "JoinTicket_job_idx" ON "JoinTicket"("job");

