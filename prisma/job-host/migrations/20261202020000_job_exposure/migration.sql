-- AlterTable
ALTER TABLE "Job" ADD COLUMN "exposure" TEXT;
