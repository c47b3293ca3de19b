-- CreateTable
CREATE TABLE "Bucket" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "job" TEXT NOT NULL,
    "size" BIGINT NOT NULL,
    "records" INTEGER NOT NULL,
    "digest" TEXT NOT NULL,
    "writer" TEXT NOT NULL,
    "task" TEXT NOT NULL,
    "attempt" INTEGER NOT NULL,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
);

-- CreateTable
CREATE TABLE "Commit" (
    "job" TEXT NOT NULL,
    "task" TEXT NOT NULL,
    "attempt" INTEGER NOT NULL,
    "committedAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,

    PRIMARY KEY ("job", "task")
);

-- CreateTable
CREATE TABLE "Revocation" (
    "jti" TEXT NOT NULL PRIMARY KEY,
    "job" TEXT NOT NULL,
    "reason" TEXT NOT NULL,
    "expiresAt" DATETIME NOT NULL,
    "revokedAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
);

-- CreateTable
CREATE TABLE "Exposure" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "job" TEXT NOT NULL,
    "pseudonym" TEXT NOT NULL,
    "bucket" TEXT NOT NULL,
    "bytes" BIGINT NOT NULL,
    "records" INTEGER NOT NULL,
    "at" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
);

-- CreateIndex
CREATE INDEX "Bucket_job_idx" ON "Bucket"("job");

-- CreateIndex
CREATE INDEX "Exposure_job_pseudonym_idx" ON "Exposure"("job", "pseudonym");

