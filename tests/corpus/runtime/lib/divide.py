# Databricks notebook source
def divide(a, b):
    return a / b
