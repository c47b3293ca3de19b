-- AlterTable
ALTER TABLE "Attempt" ADD COLUMN "bytesWritten" BIGINT;
