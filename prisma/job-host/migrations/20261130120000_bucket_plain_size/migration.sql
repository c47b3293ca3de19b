-- AlterTable
ALTER TABLE "Bucket" ADD COLUMN "plainSize" BIGINT;
