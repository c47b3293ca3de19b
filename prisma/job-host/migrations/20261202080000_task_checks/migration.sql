-- Spot checks and decoy splits (#8): which tasks the job host checks itself, what its own run of
-- each gave, and which workers a check caught.
ALTER TABLE "Task" ADD COLUMN "checkKind" TEXT;
ALTER TABLE "Task" ADD COLUMN "expected" TEXT;
ALTER TABLE "Worker" ADD COLUMN "caught" TEXT;
